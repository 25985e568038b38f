using VisionPlatform.Training.Storage;
using VisionPlatform.Training.Storage.Tests;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>The executor archiving into the real S3 store (s3rver): the chunks are objects under the run's prefix, and
/// the log reads back from them once the TTL controller removed the Job.</summary>
[Collection(S3rverCollection.Name)]
public sealed class S3LogArchiveTests(S3rverFixture server)
{
    [Fact]
    public async Task A_runs_log_archived_in_s3_is_read_back_after_the_job_is_gone()
    {
        using var store = new S3ArtifactStore(server.Options());
        await using var host = await LogArchiveHost.StartAsync(store, o => o.Job.TtlSecondsAfterFinished = 1);
        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("s3-archived", """{"epoch_seconds": 0.2, "log_lines_per_epoch": 3}""", epochs: 3).Build());

        await Eventually.GetAsync(host.Cluster.JobsAsync, jobs => jobs.Count == 0, "the Job to be removed after its log was archived in S3", TimeSpan.FromSeconds(120));

        var keys = new List<string>();
        await foreach (var artifact in store.ListRunArtifactsAsync(run.JobId))
        {
            keys.Add(artifact.RelativePath);
        }

        keys.Should().NotBeEmpty().And.OnlyContain(k => k.StartsWith("logs/attempt-1/rank-0/", StringComparison.Ordinal) && k.EndsWith(".log", StringComparison.Ordinal));
        var lines = await host.Executor.GetLogsAsync(run, new TrainingLogOptions { Timestamps = true }).ToListAsync();
        lines.Select(l => l.Text).Where(t => t.StartsWith("epoch ", StringComparison.Ordinal) && t.Contains(" log line ", StringComparison.Ordinal))
            .Select(t => t[..t.IndexOf(':', StringComparison.Ordinal)])
            .Should().Equal(Enumerable.Range(1, 3).SelectMany(e => Enumerable.Range(1, 3).Select(i => $"epoch {e} log line {i}/3")));
        lines.Should().OnlyContain(l => l.Timestamp != null && l.Attempt == 1);
        lines.Should().Contain(l => l.Text.StartsWith("training finished", StringComparison.Ordinal), "the last line is archived too");
    }
}
