using Microsoft.Extensions.DependencyInjection;
using System.Text.RegularExpressions;
using VisionPlatform.Training.Storage;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// Logs that outlive pods: the monitor archives every pod's trainer log, the Job keeps a backstop TTL until then and gets
/// Job:TtlSecondsAfterFinished afterwards, and GetLogsAsync answers from the archive once the TTL controller removed the
/// Job. Real trainer processes in the test cluster (its TTL controller included).
/// </summary>
public sealed partial class LogArchiveTests
{
    private static readonly int BackstopSeconds = (int)TimeSpan.FromDays(7).TotalSeconds;

    [Fact]
    public async Task Logs_are_read_from_the_archive_after_the_ttl_controller_removed_the_job()
    {
        var archive = new InMemoryRunLogArchive();
        await using var host = await LogArchiveHost.StartAsync(archive, o => o.Job.TtlSecondsAfterFinished = 1);
        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("archived", """{"epoch_seconds": 0.2, "log_lines_per_epoch": 5}""", epochs: 3).Build());
        (await host.Cluster.JobsAsync()).Single().Spec.TtlSecondsAfterFinished.Should().Be(BackstopSeconds, "the Job waits for its log to be archived");

        await Eventually.GetAsync(host.Cluster.JobsAsync, jobs => jobs.Count == 0, "the TTL controller to remove the Job once its log was archived", TimeSpan.FromSeconds(120));
        // The executor answers from the monitor's watch cache, which sees the deletion a moment after the API server made it.
        await Eventually.GetAsync(() => host.Executor.GetStatusAsync(run), s => s.Phase == TrainingPhase.NotFound, "the run to be NotFound: the Job was its record");

        var lines = await host.Executor.GetLogsAsync(run).ToListAsync();
        AssertEpochLines(lines, epochs: 3, perEpoch: 5);
        lines.Should().OnlyContain(l => l.Attempt == 1 && l.Timestamp == null, "timestamps only when asked for");

        var tail = await host.Executor.GetLogsAsync(run, new TrainingLogOptions { TailLines = 4, Timestamps = true }).ToListAsync();
        tail.Select(l => l.Text).Should().Equal(lines.TakeLast(4).Select(l => l.Text));
        tail.Should().OnlyContain(l => l.Timestamp != null);
        tail.Select(l => l.Timestamp).Should().BeInAscendingOrder();

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var followed = await host.Executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true }, deadline.Token).ToListAsync(deadline.Token);
        followed.Select(l => l.Text).Should().Equal(lines.Select(l => l.Text), "a followed read of a finished run ends after the archived lines");

        var unknown = () => host.Executor.GetLogsAsync(new TrainingRun(run.ExecutorName, "never-ran", "training/never-ran")).ToListAsync().AsTask();
        (await unknown.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.RunNotFound);
    }

    [Fact]
    public async Task A_retried_run_keeps_the_log_of_every_attempt()
    {
        var archive = new InMemoryRunLogArchive();
        await using var host = await LogArchiveHost.StartAsync(archive, o =>
        {
            o.Job.TtlSecondsAfterFinished = 1;
            o.Job.BackoffLimit = 1;
        });
        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("archived-retry", """{"epoch_seconds": 0.1, "log_lines_per_epoch": 2, "fail_at_epoch": 2}""", epochs: 3).Build());

        await Eventually.GetAsync(host.Cluster.JobsAsync, jobs => jobs.Count == 0, "the failed run's Job to be removed after archiving", TimeSpan.FromSeconds(120));

        var all = await host.Executor.GetLogsAsync(run, new TrainingLogOptions { AllAttempts = true }).ToListAsync();
        all.Select(l => l.Attempt).Distinct().Should().Equal(1, 2);
        foreach (var attempt in new[] { 1, 2 })
        {
            all.Where(l => l.Attempt == attempt && l.Text.StartsWith("epoch 1 log line", StringComparison.Ordinal)).Select(l => l.Text[..l.Text.IndexOf(':', StringComparison.Ordinal)])
                .Should().Equal(["epoch 1 log line 1/2", "epoch 1 log line 2/2"], $"attempt {attempt} ran epoch 1 once");
        }

        var current = await host.Executor.GetLogsAsync(run).ToListAsync();
        current.Should().NotBeEmpty().And.OnlyContain(l => l.Attempt == 2, "without AllAttempts, the latest attempt");
        (await archive.ListLogChunksAsync(run.JobId).ToListAsync()).Select(c => c.Attempt).Distinct().Should().Equal(1, 2);
    }

    [Fact]
    public async Task A_broken_follow_is_resumed_without_repeated_or_lost_lines()
    {
        var archive = new InMemoryRunLogArchive();
        await using var host = await LogArchiveHost.StartAsync(archive, o => o.Job.TtlSecondsAfterFinished = 1);
        host.Breaker.BreakNext(count: 3, afterLines: 4);
        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("archived-broken", """{"epoch_seconds": 0.3, "log_lines_per_epoch": 4}""", epochs: 4).Build());

        await Eventually.GetAsync(host.Cluster.JobsAsync, jobs => jobs.Count == 0, "the Job to be removed after archiving", TimeSpan.FromSeconds(120));

        host.Breaker.Broken.Should().BeGreaterThan(0, "the archiver's follow was cut at least once");
        var lines = await host.Executor.GetLogsAsync(run).ToListAsync();
        AssertEpochLines(lines, epochs: 4, perEpoch: 4);
        lines.Select(l => l.Text).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task A_subscribers_broken_follow_is_resumed_without_repeated_or_lost_lines()
    {
        // No archive: the only follow is the event hub's, which shares the resume rule with the archiver.
        await using var host = await LogArchiveHost.StartAsync(archive: null);
        var events = host.Provider.GetRequiredService<ITrainingEventSource>();
        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("followed-broken", """{"epoch_seconds": 0.3, "log_lines_per_epoch": 4}""", epochs: 4).Build());
        host.Breaker.BreakNext(count: 3, afterLines: 4);
        await using var recorder = new EventRecorder(events, new TrainingEventSubscription { JobId = run.JobId, IncludeLogs = true, BufferCapacity = 4096 });

        await recorder.WaitForAsync(e => e.OfType<TrainingPhaseChangedEvent>().Any(p => p.Status.IsTerminal), "the run to finish", TimeSpan.FromSeconds(120));
        var logged = await recorder.WaitForAsync(
            e => e.OfType<TrainingLogEvent>().Any(l => l.Line.Text.StartsWith("epoch 4 log line 4/4", StringComparison.Ordinal)),
            "the last epoch line (the log is drained after the container stops)",
            TimeSpan.FromSeconds(30));

        host.Breaker.Broken.Should().BeGreaterThan(0, "the subscriber's follow was cut at least once");
        var lines = logged.OfType<TrainingLogEvent>().Select(l => l.Line).ToList();
        AssertEpochLines(lines, epochs: 4, perEpoch: 4);
        lines.Select(l => l.Text).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task A_host_started_again_resumes_archiving_after_the_archives_last_line()
    {
        var archive = new InMemoryRunLogArchive();
        await using var cluster = await WorkloadHarness.StartAsync();
        TrainingRun run;
        await using (var first = await LogArchiveHost.StartAsync(archive, o => o.Job.TtlSecondsAfterFinished = 1, cluster))
        {
            run = await first.Executor.StartAsync(WorkloadHarness.Trainer("archived-restart", """{"epoch_seconds": 0.8, "log_lines_per_epoch": 3}""", epochs: 6).Build());
            await Eventually.GetAsync(() => Task.FromResult(archive.BytesOf(run.JobId)), bytes => bytes > 0, "part of the log to be archived");
            (await cluster.JobsAsync()).Single().Status?.CompletionTime.Should().BeNull("the host stops in the middle of the run");
        }

        // The host stopped (its archivers flushed what they held) while the trainer runs on; another host takes over.
        (await cluster.JobsAsync()).Should().ContainSingle("the run goes on without the host");
        await using var second = await LogArchiveHost.StartAsync(archive, o => o.Job.TtlSecondsAfterFinished = 1, cluster);

        await Eventually.GetAsync(cluster.JobsAsync, jobs => jobs.Count == 0, "the Job to be removed once the second host archived the rest", TimeSpan.FromSeconds(120));

        var lines = await second.Executor.GetLogsAsync(run).ToListAsync();
        AssertEpochLines(lines, epochs: 6, perEpoch: 3);
        lines.Select(l => l.Text).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task With_archiving_off_jobs_get_their_ttl_at_once_and_logs_go_with_the_pods()
    {
        var archive = new InMemoryRunLogArchive();
        await using var host = await LogArchiveHost.StartAsync(archive, o =>
        {
            o.Job.TtlSecondsAfterFinished = 1;
            o.Logs.Archive = false;
        });
        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("not-archived", """{"epoch_seconds": 0.1, "log_lines_per_epoch": 2}""", epochs: 2).Build());
        var job = (await host.Cluster.JobsAsync()).Single();
        job.Spec.TtlSecondsAfterFinished.Should().Be(1);

        await Eventually.GetAsync(host.Cluster.JobsAsync, jobs => jobs.Count == 0, "the TTL controller to remove the Job", TimeSpan.FromSeconds(120));

        archive.BytesOf(run.JobId).Should().Be(0);
        var read = () => host.Executor.GetLogsAsync(run).ToListAsync().AsTask();
        (await read.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.RunNotFound);
    }

    [Fact]
    public async Task The_jobs_ttl_is_set_only_after_its_log_is_archived()
    {
        var archive = new GatedArchive(new InMemoryRunLogArchive());
        await using var host = await LogArchiveHost.StartAsync(archive, o => o.Job.TtlSecondsAfterFinished = 1);
        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("archived-gated", """{"epoch_seconds": 0.1, "log_lines_per_epoch": 3}""", epochs: 2).Build());

        await host.Cluster.WaitForAsync(run, s => s.Phase == TrainingPhase.Succeeded, "the run to succeed");
        await Eventually.GetAsync(() => Task.FromResult(archive.Waiting), waiting => waiting > 0, "a chunk write to wait at the gate");
        var job = (await host.Cluster.JobsAsync()).Single();
        job.Spec.TtlSecondsAfterFinished.Should().Be(BackstopSeconds, "the log is not archived yet");
        job.Metadata.Annotations.Should().NotContainKey(KubernetesLabels.LogsArchivedAnnotation);

        archive.Open();
        var patched = await Eventually.GetAsync(
            host.Cluster.JobsAsync,
            jobs => jobs.Count == 0 || jobs[0].Metadata.Annotations?.ContainsKey(KubernetesLabels.LogsArchivedAnnotation) == true,
            "the TTL to be set once the log is archived",
            TimeSpan.FromSeconds(120));
        if (patched.Count == 1)
        {
            patched[0].Spec.TtlSecondsAfterFinished.Should().Be(1);
        }

        await Eventually.GetAsync(host.Cluster.JobsAsync, jobs => jobs.Count == 0, "the TTL controller to remove the Job", TimeSpan.FromSeconds(60));
        AssertEpochLines(await host.Executor.GetLogsAsync(run).ToListAsync(), epochs: 2, perEpoch: 3);
    }

    [Fact]
    public async Task Chunks_stay_within_the_archives_limit_and_a_full_run_is_still_cleaned_up()
    {
        var archive = new InMemoryRunLogArchive(maxChunkBytes: 2048, maxBytesPerRun: 6000);
        await using var host = await LogArchiveHost.StartAsync(archive, o =>
        {
            o.Job.TtlSecondsAfterFinished = 1;
            o.Logs.ChunkBytes = 4096;
        });
        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("archived-full", """{"epoch_seconds": 0.1, "log_lines_per_epoch": 40}""", epochs: 3).Build());

        await Eventually.GetAsync(host.Cluster.JobsAsync, jobs => jobs.Count == 0, "the Job to be removed although its log did not fit", TimeSpan.FromSeconds(120));

        var chunks = await archive.ListLogChunksAsync(run.JobId).ToListAsync();
        chunks.Should().NotBeEmpty().And.OnlyContain(c => c.Size <= 2048);
        chunks.Select(c => c.Sequence).Should().Equal(Enumerable.Range(0, chunks.Count).Select(i => (long)i), "no chunk is missing");
        archive.BytesOf(run.JobId).Should().BeLessThanOrEqualTo(6000);
        archive.RefusedChunks.Should().BeGreaterThan(0);

        // What was kept is the start of the log, in order, without gaps.
        var lines = (await host.Executor.GetLogsAsync(run).ToListAsync()).Select(l => l.Text).Where(t => EpochLine().IsMatch(t)).ToList();
        var expected = Enumerable.Range(1, 3).SelectMany(e => Enumerable.Range(1, 40).Select(i => $"epoch {e} log line {i}/40")).ToList();
        lines.Should().NotBeEmpty();
        lines.Select(t => t[..t.IndexOf(':', StringComparison.Ordinal)]).Should().Equal(expected.Take(lines.Count));
    }

    /// <summary>Every "epoch e log line i/n" line appears once, in order.</summary>
    internal static void AssertEpochLines(IReadOnlyList<TrainingLogLine> lines, int epochs, int perEpoch)
    {
        var epochLines = lines.Select(l => l.Text).Where(t => EpochLine().IsMatch(t)).Select(t => t[..t.IndexOf(':', StringComparison.Ordinal)]).ToList();
        var expected = Enumerable.Range(1, epochs).SelectMany(e => Enumerable.Range(1, perEpoch).Select(i => $"epoch {e} log line {i}/{perEpoch}"));
        epochLines.Should().Equal(expected, "every line once, in order: {0}", string.Join(" | ", lines.Select(l => l.Text)));
    }

    [GeneratedRegex(@"^epoch \d+ log line \d+/\d+:")]
    private static partial Regex EpochLine();

    /// <summary>An archive whose writes wait until <see cref="Open"/>.</summary>
    private sealed class GatedArchive(IRunLogArchive inner) : IRunLogArchive
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _waiting;

        public int Waiting => Volatile.Read(ref _waiting);

        public int MaxChunkBytes => inner.MaxChunkBytes;

        public void Open() => _gate.TrySetResult();

        public async Task<bool> WriteLogChunkAsync(RunLogChunk chunk, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _waiting);
            await _gate.Task.WaitAsync(cancellationToken);
            return await inner.WriteLogChunkAsync(chunk, cancellationToken);
        }

        public IAsyncEnumerable<RunLogChunkInfo> ListLogChunksAsync(string jobId, int? attempt = null, int? rank = null, CancellationToken cancellationToken = default) =>
            inner.ListLogChunksAsync(jobId, attempt, rank, cancellationToken);

        public IAsyncEnumerable<RunLogChunk> ReadLogChunksAsync(string jobId, int? attempt = null, int? rank = null, CancellationToken cancellationToken = default) =>
            inner.ReadLogChunksAsync(jobId, attempt, rank, cancellationToken);
    }
}
