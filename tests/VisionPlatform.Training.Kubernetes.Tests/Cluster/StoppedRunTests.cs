using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// The job-id rule for a stopped Kubernetes run, through the public executor API against the test cluster: the stop is
/// recorded on the Job, the Job controller ends it and removes its pods, and the run reads Stopped on every host (the
/// monitor's cache and direct reads, before and after a restart) until the Job's TTL removes it; a repeat start returns
/// it, another config conflicts, and once the TTL removed it the same id starts a new run.
/// </summary>
public class StoppedRunTests
{
    [Fact]
    public async Task A_stopped_run_reads_stopped_on_every_host_keeps_its_retained_logs_and_is_returned_by_a_repeat_start()
    {
        // A long pod failure back-off: after its first attempt fails, the run waits (active, retried later) with the failed
        // attempt's pod retained, so the stop meets a run that has a pod to read logs from.
        await using var first = await MonitorHost.StartAsync(cluster: c => c.Workloads.JobPodFailureBackoff = TimeSpan.FromMinutes(10));
        await first.WaitForSyncAsync();
        var config = WorkloadHarness.Trainer("stop-keep", """{"epoch_seconds": 0.2, "fail_at_epoch": 2}""", epochs: 50).Build();
        var run = await first.Executor.StartAsync(config);
        await Eventually.GetAsync(() => first.Executor.GetStatusAsync(run), s => s.Phase == TrainingPhase.Pending && s.Message?.Contains("exit code 1", StringComparison.Ordinal) == true,
            "the first attempt to fail and wait for its retry", TimeSpan.FromSeconds(90));

        var stopped = await first.Executor.StopAsync(run);

        stopped.Phase.Should().Be(TrainingPhase.Stopped);
        stopped.Reason.Should().Be(TrainingStatusReasons.StoppedByUser);
        (await first.Executor.GetStatusAsync(run)).Should().BeEquivalentTo(stopped, "this host reads its own stop at once");
        var job = await Eventually.GetAsync(async () => (await first.Cluster.JobsAsync()).Single(), j => j.Status?.Conditions?.Any(c => c.Type == "Failed") == true,
            "the Job controller to end the stopped Job");
        job.Status.Conditions.Single(c => c.Type == "Failed").Reason.Should().Be("DeadlineExceeded");

        // Logs still answer while the run's pods exist (the failed attempt's pod stays with the Job).
        var logs = new List<TrainingLogLine>();
        await foreach (var line in first.Executor.GetLogsAsync(run, new TrainingLogOptions { AllAttempts = true }))
        {
            logs.Add(line);
        }

        logs.Should().Contain(l => l.Attempt == 1 && l.Text.StartsWith("VP_PROGRESS", StringComparison.Ordinal));

        // Every host: this one's cache, a direct reader, and a restarted host whose monitor lists the Job afresh.
        await Eventually.GetAsync(() => first.Executor.GetStatusAsync(run), s => s.Phase == TrainingPhase.Stopped && s.FinishedAt == stopped.FinishedAt, "the cache to hold the ended Job");
        using var direct = first.Cluster.NewExecutor();
        await using var restarted = await StartHostAsync(first.Cluster);
        foreach (var executor in new[] { first.Executor, direct, restarted.GetRequiredKeyedService<ITrainingExecutor>(KubernetesExecutorInfo.ExecutorName) })
        {
            var status = await executor.GetStatusAsync(run);
            status.Phase.Should().Be(TrainingPhase.Stopped);
            status.Reason.Should().Be(TrainingStatusReasons.StoppedByUser);
            status.FinishedAt.Should().Be(stopped.FinishedAt);
            status.Message.Should().Be(stopped.Message);
            (await executor.ListAsync()).Should().ContainSingle(s => s.JobId == "stop-keep").Which.Phase.Should().Be(TrainingPhase.Stopped);
            (await executor.StartAsync(config)).Should().Be(run, "the same job id and config return the stopped run");
            var changed = () => executor.StartAsync(WorkloadHarness.Trainer("stop-keep", """{"epoch_seconds": 0.2}""", epochs: 50).Build());
            (await changed.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.JobConflict);
        }

        (await first.Cluster.JobsAsync()).Should().ContainSingle().Which.Metadata.Uid.Should().Be(job.Metadata.Uid, "no new GPU run was created");
    }

    [Fact]
    public async Task Once_the_ttl_removed_a_stopped_run_the_same_job_id_starts_a_new_run()
    {
        await using var host = await MonitorHost.StartAsync(executor: o => o.Job.TtlSecondsAfterFinished = 1);
        await host.WaitForSyncAsync();
        var config = WorkloadHarness.Trainer("stop-ttl", """{"epoch_seconds": 30}""").Build();
        var run = await host.Executor.StartAsync(config);
        await Eventually.GetAsync(() => host.Executor.GetStatusAsync(run), s => s.Phase == TrainingPhase.Running, "the run to run", TimeSpan.FromSeconds(90));
        var firstUid = (await host.Cluster.JobsAsync()).Single().Metadata.Uid;

        (await host.Executor.StopAsync(run)).Phase.Should().Be(TrainingPhase.Stopped);
        await Eventually.GetAsync(host.Cluster.JobsAsync, jobs => jobs.Count == 0, "the TTL controller to remove the ended Job", TimeSpan.FromSeconds(60));

        var again = await host.Executor.StartAsync(config);

        again.Should().Be(run, "the handle names the job id and the Job name, both the same");
        (await host.Cluster.JobsAsync()).Should().ContainSingle().Which.Metadata.Uid.Should().NotBe(firstUid, "a new run was created");
        (await host.Executor.GetStatusAsync(again)).Phase.Should().BeOneOf([TrainingPhase.Pending, TrainingPhase.Running], "this host reads the new run, not the old stop");
        using var direct = host.Cluster.NewExecutor();
        (await direct.GetStatusAsync(again)).Phase.Should().BeOneOf(TrainingPhase.Pending, TrainingPhase.Running);
        await host.Executor.StopAsync(again);
    }

    private static async Task<HostedProvider> StartHostAsync(ClusterHarness cluster)
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(o =>
        {
            o.Connection.Host = cluster.Cluster.Url.ToString().TrimEnd('/');
            o.Image.Registry = "registry.example.com/vision";
            o.Image.Tag = "1.4.0";
            o.PollInterval = TimeSpan.FromMilliseconds(200);
        });
        var host = new HostedProvider(services.BuildServiceProvider());
        await host.StartAsync();
        await Eventually.GetAsync(() => Task.FromResult(host.GetRequiredService<KubernetesRunMonitor>().IsSynced), synced => synced, "the restarted host's monitor to sync");
        return host;
    }

    private sealed class HostedProvider(ServiceProvider provider) : IAsyncDisposable
    {
        private readonly List<IHostedService> _started = [];

        public T GetRequiredService<T>()
            where T : notnull => provider.GetRequiredService<T>();

        public T GetRequiredKeyedService<T>(string key)
            where T : notnull => provider.GetRequiredKeyedService<T>(key);

        public async Task StartAsync()
        {
            foreach (var service in provider.GetServices<IHostedService>())
            {
                await service.StartAsync(CancellationToken.None);
                _started.Add(service);
            }
        }

        public async ValueTask DisposeAsync()
        {
            for (var i = _started.Count - 1; i >= 0; i--)
            {
                await _started[i].StopAsync(CancellationToken.None);
            }

            await provider.DisposeAsync();
        }
    }
}
