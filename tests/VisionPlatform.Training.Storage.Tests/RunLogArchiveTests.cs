using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace VisionPlatform.Training.Storage.Tests;

/// <summary>The S3 store as an <see cref="IRunLogArchive"/>, against the real s3rver: layout, order, filters and bounds.</summary>
[Collection(S3rverCollection.Name)]
public sealed class RunLogArchiveTests(S3rverFixture server)
{
    [Fact]
    public async Task Chunks_are_objects_under_the_run_prefix_and_read_back_in_attempt_rank_and_sequence_order()
    {
        using var store = new S3ArtifactStore(server.Options());
        const string jobId = "job 7/logs";

        // Written out of order, with attempts and ranks whose text order differs from their number order (10 > 2).
        foreach (var (attempt, rank, sequence) in new[] { (2, 0, 1L), (10, 0, 0L), (1, 1, 0L), (1, 0, 1L), (2, 0, 0L), (1, 0, 0L) })
        {
            (await store.WriteLogChunkAsync(new RunLogChunk(jobId, attempt, rank, sequence, $"2026-12-07T10:00:00.0000000Z a{attempt} r{rank} s{sequence}\n"))).Should().BeTrue();
        }

        var keys = new List<string>();
        await foreach (var artifact in store.ListRunArtifactsAsync(jobId))
        {
            keys.Add(artifact.RelativePath);
        }

        keys.Should().Contain(["logs/attempt-1/rank-0/00000000.log", "logs/attempt-1/rank-0/00000001.log", "logs/attempt-10/rank-0/00000000.log", "logs/attempt-1/rank-1/00000000.log"]);

        var all = await ReadAsync(store, jobId);
        all.Select(c => (c.Attempt, c.Rank, c.Sequence)).Should().Equal((1, 0, 0L), (1, 0, 1L), (1, 1, 0L), (2, 0, 0L), (2, 0, 1L), (10, 0, 0L));
        all.Should().OnlyContain(c => c.Text == $"2026-12-07T10:00:00.0000000Z a{c.Attempt} r{c.Rank} s{c.Sequence}\n" && c.JobId == jobId);

        (await ReadAsync(store, jobId, attempt: 1, rank: 0)).Select(c => c.Sequence).Should().Equal(0L, 1L);
        (await ReadAsync(store, jobId, rank: 0)).Select(c => c.Attempt).Should().Equal(1, 1, 2, 2, 10);
        (await ReadAsync(store, jobId, attempt: 3)).Should().BeEmpty();
        (await ReadAsync(store, "no such job")).Should().BeEmpty();

        var infos = new List<RunLogChunkInfo>();
        await foreach (var info in store.ListLogChunksAsync(jobId, attempt: 2))
        {
            infos.Add(info);
        }

        infos.Should().Equal(new RunLogChunkInfo(2, 0, 0, all[3].Text.Length), new RunLogChunkInfo(2, 0, 1, all[4].Text.Length));

        // The run's upload manifest and train.log are untouched by the archive, and deleting the run deletes its log.
        (await store.DeleteRunAsync(jobId)).Should().Be(6);
        (await ReadAsync(store, jobId)).Should().BeEmpty();
    }

    [Fact]
    public async Task A_chunk_larger_than_the_limit_is_rejected_and_a_full_run_refuses_further_chunks_with_one_warning()
    {
        var options = server.Options();
        options.LogChunkMaxBytes = TrainingLogLine.MaxLineBytes + 64;
        options.LogArchiveMaxBytesPerRun = 2L * options.LogChunkMaxBytes;
        var logs = new CapturingLoggerProvider();
        using var store = new S3ArtifactStore(options, logs.CreateLogger<S3ArtifactStore>());
        var big = new string('x', options.LogChunkMaxBytes - 1) + "\n";

        var tooBig = () => store.WriteLogChunkAsync(new RunLogChunk("full", 1, 0, 0, big + "y"));
        await tooBig.Should().ThrowAsync<ArgumentException>().WithMessage("*LogChunkMaxBytes*");

        (await store.WriteLogChunkAsync(new RunLogChunk("full", 1, 0, 0, big))).Should().BeTrue();
        (await store.WriteLogChunkAsync(new RunLogChunk("full", 1, 0, 1, big))).Should().BeTrue();
        (await store.WriteLogChunkAsync(new RunLogChunk("full", 1, 0, 2, "one more line\n"))).Should().BeFalse("the run holds its limit");
        (await store.WriteLogChunkAsync(new RunLogChunk("full", 2, 0, 0, "and another\n"))).Should().BeFalse();
        (await store.WriteLogChunkAsync(new RunLogChunk("other run", 1, 0, 0, "another run is not affected\n"))).Should().BeTrue();

        (await ReadAsync(store, "full")).Select(c => c.Sequence).Should().Equal([0L, 1L], "the log kept so far is never dropped");
        logs.Entries.Where(e => e.Id.Id == 4110).Should().ContainSingle().Which.Text.Should().Contain("full").And.Contain("LogArchiveMaxBytesPerRun");

        // A new store (another host) counts what is already archived.
        using var second = new S3ArtifactStore(options);
        (await second.WriteLogChunkAsync(new RunLogChunk("full", 1, 0, 2, "one more line\n"))).Should().BeFalse();
    }

    [Fact]
    public async Task AddArtifactStorage_registers_the_store_as_the_run_log_archive()
    {
        var options = server.Options();
        var services = new ServiceCollection();
        services.AddTrainingExecutors().AddArtifactStorage(o =>
        {
            o.ServiceUrl = options.ServiceUrl;
            o.Bucket = options.Bucket;
            o.AccessKeyId = options.AccessKeyId;
            o.SecretAccessKey = options.SecretAccessKey;
            o.Prefix = options.Prefix;
        });
        await using var provider = services.BuildServiceProvider();

        var archive = provider.GetRequiredService<IRunLogArchive>();

        archive.Should().BeSameAs(provider.GetRequiredService<IArtifactStore>());
        (await archive.WriteLogChunkAsync(new RunLogChunk("di", 1, 0, 0, "hello\n"))).Should().BeTrue();
        using var raw = await server.RawClient.GetObjectAsync(S3rverFixture.Bucket, options.Prefix + "/di/logs/attempt-1/rank-0/00000000.log");
        using var reader = new StreamReader(raw.ResponseStream, Encoding.UTF8);
        (await reader.ReadToEndAsync()).Should().Be("hello\n");
    }

    [Fact]
    public void Chunk_paths_round_trip_and_other_paths_are_not_chunks()
    {
        ArtifactLayout.LogChunkPath(3, 1, 42).Should().Be("logs/attempt-3/rank-1/00000042.log");
        ArtifactLayout.TryParseLogChunkPath("logs/attempt-3/rank-1/00000042.log", out var attempt, out var rank, out var sequence).Should().BeTrue();
        (attempt, rank, sequence).Should().Be((3, 1, 42L));
        foreach (var other in new[] { ArtifactLayout.TrainLogFile, "logs/attempt-0/rank-0/00000000.log", "logs/attempt-01/rank-0/00000000.log", "logs/attempt-1/rank-0/0000000.log", "logs/attempt-1/rank-0/00000000.txt" })
        {
            ArtifactLayout.TryParseLogChunkPath(other, out _, out _, out _).Should().BeFalse(other);
        }

        var invalid = () => ArtifactLayout.LogChunkPath(0, 0, 0);
        invalid.Should().Throw<ArgumentOutOfRangeException>();
    }

    private static async Task<List<RunLogChunk>> ReadAsync(IRunLogArchive archive, string jobId, int? attempt = null, int? rank = null)
    {
        var chunks = new List<RunLogChunk>();
        await foreach (var chunk in archive.ReadLogChunksAsync(jobId, attempt, rank))
        {
            chunks.Add(chunk);
        }

        return chunks;
    }
}
