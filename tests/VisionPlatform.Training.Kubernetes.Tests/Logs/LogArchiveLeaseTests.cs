using System.Collections.Concurrent;
using k8s;
using VisionPlatform.Training.Storage;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// Several hosts in one namespace: a coordination.k8s.io Lease elects the one that archives and sets TTLs; another takes
/// over when it stops (it releases the Lease) or cannot renew (the Lease expires), and every line is archived once, by one
/// writer per chunk. Two hosts on one test cluster, one archive, real trainer processes.
/// </summary>
public sealed class LogArchiveLeaseTests
{
    private const string Ns = "training";
    private const string LeaseName = "visionplatform-training-log-archiver";

    [Fact]
    public async Task Of_two_hosts_only_the_lease_holder_archives_and_every_line_is_archived_once()
    {
        var archive = new InMemoryRunLogArchive();
        var writes = new ConcurrentQueue<(string Writer, RunLogChunk Chunk)>();
        await using var cluster = await WorkloadHarness.StartAsync();
        await using var a = await StartHostAsync(cluster, archive, writes, "a", TimeSpan.FromSeconds(30));
        await using var b = await StartHostAsync(cluster, archive, writes, "b", TimeSpan.FromSeconds(30));
        var holder = await HolderAsync(cluster, a, b);

        var run = await a.Executor.StartAsync(WorkloadHarness.Trainer("lease-one", """{"epoch_seconds": 0.3, "log_lines_per_epoch": 3}""", epochs: 5).Build());
        await Eventually.GetAsync(cluster.JobsAsync, jobs => jobs.Count == 0, "the Job to be removed once its log was archived", TimeSpan.FromSeconds(120));

        LogArchiveTests.AssertEpochLines(await a.Executor.GetLogsAsync(run).ToListAsync(), epochs: 5, perEpoch: 3);
        AssertEachChunkWrittenOnce(writes);
        writes.Select(w => w.Writer).Distinct().Should().Equal([holder == a ? "a" : "b"], "only the Lease's holder writes chunks");
        (await ReadLeaseAsync(cluster)).Spec.HolderIdentity.Should().Be(holder.Monitor.ArchiveLeaseIdentity);
    }

    [Fact]
    public async Task A_holder_that_stops_releases_the_lease_and_the_other_host_archives_the_rest()
    {
        // A Lease of 30 s: the other host retries every 10 s, so it takes over after a release, never after expiry.
        var archive = new InMemoryRunLogArchive();
        var writes = new ConcurrentQueue<(string Writer, RunLogChunk Chunk)>();
        await using var cluster = await WorkloadHarness.StartAsync();
        var a = await StartHostAsync(cluster, archive, writes, "a", TimeSpan.FromSeconds(30));
        await Eventually.GetAsync(() => Task.FromResult(a.Monitor.HoldsArchiveLease), held => held, "the first host to hold the Lease");
        await using var b = await StartHostAsync(cluster, archive, writes, "b", TimeSpan.FromSeconds(30));
        var bIdentity = b.Monitor.ArchiveLeaseIdentity;

        var run = await b.Executor.StartAsync(WorkloadHarness.Trainer("lease-release", """{"epoch_seconds": 0.8, "log_lines_per_epoch": 3}""", epochs: 8).Build());
        await Eventually.GetAsync(() => Task.FromResult(archive.BytesOf(run.JobId)), bytes => bytes > 0, "part of the log to be archived by the holder");
        var before = await ReadLeaseAsync(cluster);
        await a.DisposeAsync();

        var released = await ReadLeaseAsync(cluster);
        released.Metadata.ResourceVersion.Should().NotBe(before.Metadata.ResourceVersion);
        if (released.Spec.HolderIdentity is not null)
        {
            released.Spec.HolderIdentity.Should().Be(bIdentity, "released (no holder), or already taken by the other host");
        }

        await Eventually.GetAsync(() => Task.FromResult(b.Monitor.HoldsArchiveLease), held => held, "the other host to take the released Lease", TimeSpan.FromSeconds(60));
        var taken = await ReadLeaseAsync(cluster);
        taken.Spec.HolderIdentity.Should().Be(bIdentity);
        taken.Spec.LeaseTransitions.Should().Be(1, "taken over once, after the release");

        await Eventually.GetAsync(cluster.JobsAsync, jobs => jobs.Count == 0, "the Job to be removed once the other host archived the rest", TimeSpan.FromSeconds(120));
        LogArchiveTests.AssertEpochLines(await b.Executor.GetLogsAsync(run).ToListAsync(), epochs: 8, perEpoch: 3);
        AssertEachChunkWrittenOnce(writes);
        writes.Select(w => w.Writer).Distinct().Should().BeEquivalentTo(["a", "b"], "each host archived part of the run");
    }

    [Fact]
    public async Task A_holder_that_cannot_renew_stops_writing_and_the_other_host_takes_over_after_expiry()
    {
        var archive = new InMemoryRunLogArchive();
        var writes = new ConcurrentQueue<(string Writer, RunLogChunk Chunk)>();
        await using var cluster = await WorkloadHarness.StartAsync();
        await using var a = await StartHostAsync(cluster, archive, writes, "a", TimeSpan.FromSeconds(4));
        await Eventually.GetAsync(() => Task.FromResult(a.Monitor.HoldsArchiveLease), held => held, "the first host to hold the Lease");
        await using var b = await StartHostAsync(cluster, archive, writes, "b", TimeSpan.FromSeconds(4));

        var run = await a.Executor.StartAsync(WorkloadHarness.Trainer("lease-expiry", """{"epoch_seconds": 0.8, "log_lines_per_epoch": 3}""", epochs: 8).Build());
        await Eventually.GetAsync(() => Task.FromResult(archive.BytesOf(run.JobId)), bytes => bytes > 0, "part of the log to be archived by the holder");
        a.Breaker.FailLeases = true;

        await Eventually.GetAsync(() => Task.FromResult(a.Monitor.HoldsArchiveLease), held => !held, "the cut-off host to give up archiving");
        var lastByA = writes.Count(w => w.Writer == "a");
        await Eventually.GetAsync(() => Task.FromResult(b.Monitor.HoldsArchiveLease), held => held, "the other host to take the expired Lease", TimeSpan.FromSeconds(60));

        await Eventually.GetAsync(cluster.JobsAsync, jobs => jobs.Count == 0, "the Job to be removed once the other host archived the rest", TimeSpan.FromSeconds(120));
        writes.Count(w => w.Writer == "a").Should().Be(lastByA, "a host that lost the Lease writes nothing more");
        writes.Should().Contain(w => w.Writer == "b", "the new holder archived the rest, from the archive's last chunk");
        LogArchiveTests.AssertEpochLines(await b.Executor.GetLogsAsync(run).ToListAsync(), epochs: 8, perEpoch: 3);
        AssertEachChunkWrittenOnce(writes);
        (await ReadLeaseAsync(cluster)).Spec.HolderIdentity.Should().Be(b.Monitor.ArchiveLeaseIdentity);
    }

    private static Task<LogArchiveHost> StartHostAsync(ClusterHarness cluster, InMemoryRunLogArchive archive, ConcurrentQueue<(string, RunLogChunk)> writes, string name, TimeSpan leaseDuration) =>
        LogArchiveHost.StartAsync(new RecordingArchive(archive, name, writes), o =>
        {
            o.Job.TtlSecondsAfterFinished = 1;
            o.Logs.LeaseDuration = leaseDuration;
        }, cluster);

    private static async Task<LogArchiveHost> HolderAsync(ClusterHarness cluster, LogArchiveHost a, LogArchiveHost b)
    {
        var lease = await Eventually.GetAsync(() => ReadLeaseOrNullAsync(cluster), l => l?.Spec?.HolderIdentity is not null, "one host to hold the Lease");
        var holder = lease!.Spec.HolderIdentity == a.Monitor.ArchiveLeaseIdentity ? a : b;
        await Eventually.GetAsync(() => Task.FromResult(holder.Monitor.HoldsArchiveLease), held => held, "the holder to know it holds the Lease");
        return holder;
    }

    private static async Task<k8s.Models.V1Lease> ReadLeaseAsync(ClusterHarness cluster) =>
        await cluster.Client.CoordinationV1.ReadNamespacedLeaseAsync(LeaseName, Ns);

    private static async Task<k8s.Models.V1Lease?> ReadLeaseOrNullAsync(ClusterHarness cluster)
    {
        try
        {
            return await ReadLeaseAsync(cluster);
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static void AssertEachChunkWrittenOnce(IEnumerable<(string Writer, RunLogChunk Chunk)> writes) =>
        writes.GroupBy(w => (w.Chunk.JobId, w.Chunk.Attempt, w.Chunk.Rank, w.Chunk.Sequence)).Where(g => g.Count() > 1).Select(g => g.Key)
            .Should().BeEmpty("no chunk key is written twice (by one host or by two)");

    /// <summary>Records which host wrote which chunk into the shared archive.</summary>
    private sealed class RecordingArchive(IRunLogArchive inner, string writer, ConcurrentQueue<(string, RunLogChunk)> writes) : IRunLogArchive
    {
        public int MaxChunkBytes => inner.MaxChunkBytes;

        public async Task<bool> WriteLogChunkAsync(RunLogChunk chunk, CancellationToken cancellationToken = default)
        {
            var written = await inner.WriteLogChunkAsync(chunk, cancellationToken);
            writes.Enqueue((writer, chunk));
            return written;
        }

        public IAsyncEnumerable<RunLogChunkInfo> ListLogChunksAsync(string jobId, int? attempt = null, int? rank = null, CancellationToken cancellationToken = default) =>
            inner.ListLogChunksAsync(jobId, attempt, rank, cancellationToken);

        public IAsyncEnumerable<RunLogChunk> ReadLogChunksAsync(string jobId, int? attempt = null, int? rank = null, CancellationToken cancellationToken = default) =>
            inner.ReadLogChunksAsync(jobId, attempt, rank, cancellationToken);
    }
}
