using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.TestCluster;
using VisionPlatform.Training.Kubernetes.TestCluster.Api;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// The backend Role that <see cref="KubernetesClusterSetup"/> creates is enough for everything the SDK does, and nothing
/// more: a host whose API user holds exactly that Role's rules starts, reads, follows, lists, watches and stops runs
/// without a single refused call, while anything outside the rules is answered 403.
/// </summary>
public class LeastPrivilegeTests
{
    private const string Ns = "training";

    [Fact]
    public async Task A_host_holding_only_the_backend_Role_runs_reads_follows_lists_watches_and_stops_runs()
    {
        // An administrator prepared the namespace (Secret, ConfigMap); from here on the API user holds only the Role.
        KubernetesTestClusterOptions? clusterOptions = null;
        await using var cluster = await WorkloadHarness.StartAsync(c => clusterOptions = c);
        clusterOptions!.AccessPolicy = BackendRolePolicy();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(o =>
        {
            o.Connection.Host = cluster.Cluster.Url.ToString().TrimEnd('/');
            o.Image.Registry = "registry.example.com/vision";
            o.Image.Tag = "1.4.0";
            o.PollInterval = TimeSpan.FromMilliseconds(200);
        });
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        try
        {
            await RunEverythingAsync(cluster, provider);
        }
        finally
        {
            foreach (var service in Enumerable.Reverse(hosted))
            {
                await service.StopAsync(CancellationToken.None);
            }
        }
    }

    [Fact]
    public async Task A_host_holding_only_the_backend_Role_starts_a_json_config_run_whose_config_travels_in_a_ConfigMap()
    {
        KubernetesTestClusterOptions? clusterOptions = null;
        await using var cluster = await WorkloadHarness.StartAsync(c => clusterOptions = c);
        clusterOptions!.AccessPolicy = BackendRolePolicy();
        var executor = new KubernetesTrainingExecutor(new TrainingJobSpecBuilder(cluster.Options, new VisionPlatform.Training.Trainers.JsonConfigTrainerContract()));
        var config = WorkloadHarness.Trainer("rbac-config-file", $$"""{"epoch_seconds": 0.2, "padding": "{{new string('z', 150 * 1024)}}"}""").Build();

        var run = await executor.StartAsync(config);
        (await executor.StartAsync(config)).ResourceId.Should().Be(run.ResourceId, "a repeated start reads the ConfigMap and the Job under the Role");
        var lines = new List<TrainingLogLine>();
        await foreach (var line in executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true }).WithCancellation(Deadline(120)))
        {
            lines.Add(line);
        }

        lines.Should().Contain(l => l.Text.StartsWith("config read from ", StringComparison.Ordinal));
        (await executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Succeeded);
        var list = () => cluster.Client.CoreV1.ListNamespacedConfigMapAsync(Ns);
        (await list.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(HttpStatusCode.Forbidden, "the Role has no list on configmaps");
    }

    private static async Task RunEverythingAsync(ClusterHarness cluster, IServiceProvider provider)
    {
        var monitor = provider.GetRequiredService<KubernetesRunMonitor>();
        await Eventually.GetAsync(() => Task.FromResult(monitor.IsSynced), synced => synced, "the monitor to sync under the Role");
        await using var recorder = new EventRecorder(
            provider.GetRequiredService<ITrainingEventSource>(),
            new TrainingEventSubscription { IncludeCurrentState = false, IncludeLogs = true, BufferCapacity = 65_536 });
        var executor = provider.GetRequiredKeyedService<ITrainingExecutor>(KubernetesExecutorInfo.ExecutorName);

        // A short run to completion: phase, progress and log events come from the monitor's watches and log follows.
        var quick = await executor.StartAsync(WorkloadHarness.Trainer("rbac-quick").Build());
        var followed = new List<TrainingLogLine>();
        await foreach (var line in executor.GetLogsAsync(quick, new TrainingLogOptions { Follow = true }).WithCancellation(Deadline(120)))
        {
            followed.Add(line);
        }

        followed.Should().Contain(l => l.Text.StartsWith("VP_PROGRESS ", StringComparison.Ordinal), "following the log reads pods/log");
        await recorder.WaitForAsync(_ => recorder.Phases("rbac-quick").Any(e => e.Status.Phase == TrainingPhase.Succeeded), "the quick run's Succeeded event");
        recorder.Events.OfType<TrainingProgressEvent>().Should().Contain(e => e.JobId == "rbac-quick");
        recorder.Events.OfType<TrainingLogEvent>().Should().Contain(e => e.JobId == "rbac-quick");
        (await executor.GetStatusAsync(quick)).Phase.Should().Be(TrainingPhase.Succeeded);
        var tail = new List<TrainingLogLine>();
        await foreach (var line in executor.GetLogsAsync(quick, new TrainingLogOptions { TailLines = 5 }))
        {
            tail.Add(line);
        }

        tail.Should().HaveCount(5);

        // A long run: status, list, find and watch while it runs, then stop it with a grace period.
        var slow = await executor.StartAsync(WorkloadHarness.Trainer("rbac-slow", """{"epoch_seconds": 5}""", epochs: 100).Build());
        await Eventually.GetAsync(() => executor.GetStatusAsync(slow), s => s.Phase == TrainingPhase.Running, "the slow run to run", TimeSpan.FromSeconds(120));
        (await executor.ListAsync()).Select(s => s.JobId).Should().BeEquivalentTo(["rbac-quick", "rbac-slow"]);
        (await executor.FindAsync("rbac-slow")).Should().Be(slow);
        await foreach (var status in executor.WatchAsync(slow).WithCancellation(Deadline(60)))
        {
            status.Phase.Should().Be(TrainingPhase.Running);
            break;
        }

        var stopped = await executor.StopAsync(slow, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(2) });

        stopped.Phase.Should().Be(TrainingPhase.Stopped);
        await recorder.WaitForAsync(_ => recorder.Phases("rbac-slow").Any(e => e.Status.Phase == TrainingPhase.Stopped), "the slow run's Stopped event");
        // The stop ends the Job (deadline 0): the Job controller removes its pods, whatever the caller may do to pods.
        var jobName = slow.ResourceId.Split('/')[1];
        await Eventually.GetAsync(
            () => cluster.PodsAsync(),
            pods => !pods.Any(p => p.Metadata.Labels?.Values.Contains(jobName) == true),
            "the stopped run's pods to be removed",
            TimeSpan.FromSeconds(120));

        // Every call the SDK made was allowed, except the grace-period pod deletion the Role deliberately does not grant
        // (documented: the pods then get their own terminationGracePeriodSeconds from the garbage collector).
        var refused = cluster.Cluster.Requests.Entries.Where(e => e.StatusCode == 403).Select(e => $"{e.Verb} {e.Path}").ToList();
        // The grace-period stop deletes the run's pods one by one with a UID precondition and falls back at the first 403;
        // when the Job controller removed the pod before the stop listed it, there is nothing left to delete.
        refused.Should().HaveCountLessThanOrEqualTo(1, "the grace-period stop stops at the first refused pod delete");
        // (OnlyContain fails on an empty list, and none refused is a valid outcome: the pod may be gone already.)
        refused.Where(r => !r.StartsWith($"delete /api/v1/namespaces/{Ns}/pods/", StringComparison.Ordinal)).Should().BeEmpty(string.Join("; ", refused));
        cluster.Cluster.Requests.Entries.Should().Contain(e => e.Verb == "watch" && e.Resource == "jobs" && e.StatusCode == 200);
        cluster.Cluster.Requests.Entries.Should().Contain(e => e.Verb == "watch" && e.Resource == "pods" && e.StatusCode == 200);
        cluster.Cluster.Requests.Entries.Should().Contain(e => e.Verb == "get" && e.Path.EndsWith("/log", StringComparison.Ordinal) && e.StatusCode == 200);
        cluster.Cluster.Requests.Entries.Should().Contain(e => e.Verb == "patch" && e.Resource == "jobs" && e.StatusCode == 200);
        cluster.Cluster.Requests.Entries.Should().NotContain(e => e.Verb == "delete" && e.Resource == "jobs", "a stop keeps the Job");
        (await executor.GetStatusAsync(slow)).Phase.Should().Be(TrainingPhase.Stopped, "the Job stays, with the stop recorded on it");
    }

    [Fact]
    public async Task Anything_outside_the_backend_Role_is_refused_with_403()
    {
        await using var host = await ClusterHarness.StartAsync(cluster: c => c.AccessPolicy = BackendRolePolicy(), apiServerOnly: true);
        var client = host.Client;
        var secret = new V1Secret { Metadata = new V1ObjectMeta { Name = "stolen", NamespaceProperty = Ns }, StringData = new Dictionary<string, string> { ["k"] = "v" } };
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "rogue", NamespaceProperty = Ns },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "c", Image = "busybox" }] },
        };

        Func<Task>[] outside =
        [
            () => client.CoreV1.CreateNamespacedSecretAsync(secret, Ns),
            () => client.CoreV1.ListNamespacedSecretAsync(Ns),
            () => client.CoreV1.CreateNamespacedPodAsync(pod, Ns),
            () => client.CoreV1.DeleteCollectionNamespacedPodAsync(Ns),
            () => client.CoreV1.DeleteNamespacedPodAsync("any", Ns),
            () => client.BatchV1.DeleteCollectionNamespacedJobAsync(Ns),
            () => client.CoreV1.ListNamespacedServiceAsync(Ns),
            () => client.BatchV1.ListNamespacedJobAsync("default"),
            () => client.CoreV1.ListNamespaceAsync(),
        ];
        foreach (var call in outside)
        {
            (await call.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        }

        // Inside the rules the same client is served.
        (await client.BatchV1.ListNamespacedJobAsync(Ns)).Items.Should().BeEmpty();
        (await client.CoreV1.ListNamespacedPodAsync(Ns)).Items.Should().BeEmpty();
    }

    /// <summary>
    /// The Role exactly as the SDK renders it (the same object <c>EnsureClusterResourcesAsync</c> creates), turned into the
    /// test cluster's access policy for the training namespace.
    /// </summary>
    [Fact]
    public async Task A_host_with_an_archive_holding_only_the_backend_Role_takes_the_lease_archives_and_sets_the_ttl()
    {
        KubernetesTestClusterOptions? clusterOptions = null;
        await using var cluster = await WorkloadHarness.StartAsync(c => clusterOptions = c);
        clusterOptions!.AccessPolicy = BackendRolePolicy();
        var archive = new VisionPlatform.Training.Testing.InMemoryRunLogArchive();
        await using var provider = ArchivingHost(cluster, archive, logs: null);
        var hosted = await StartAsync(provider);
        try
        {
            var monitor = provider.GetRequiredService<KubernetesRunMonitor>();
            await Eventually.GetAsync(() => Task.FromResult(monitor.HoldsArchiveLease), held => held, "the host to take the Lease under the Role");
            var executor = provider.GetRequiredKeyedService<ITrainingExecutor>(KubernetesExecutorInfo.ExecutorName);
            var run = await executor.StartAsync(WorkloadHarness.Trainer("rbac-archived", """{"epoch_seconds": 0.2}""", epochs: 2).Build());

            var jobs = await Eventually.GetAsync(cluster.JobsAsync, j => j.Count == 1 && j[0].Metadata.Annotations?.ContainsKey(KubernetesLabels.LogsArchivedAnnotation) == true, "the archived run's TTL to be set under the Role", TimeSpan.FromSeconds(120));
            jobs[0].Spec.TtlSecondsAfterFinished.Should().Be(new KubernetesExecutorOptions().Job.TtlSecondsAfterFinished, "the backstop is replaced by Job:TtlSecondsAfterFinished");
            archive.BytesOf(run.JobId).Should().BePositive();
            cluster.Cluster.Requests.CountWhere(r => r.StatusCode == 403).Should().Be(0, "the Role allows every call the archiving makes");
        }
        finally
        {
            await StopAsync(hosted);
        }
    }

    [Fact]
    public async Task Without_the_lease_rule_archiving_stays_off_with_one_warning_and_the_monitor_keeps_working()
    {
        KubernetesTestClusterOptions? clusterOptions = null;
        await using var cluster = await WorkloadHarness.StartAsync(c => clusterOptions = c);
        var withoutLeases = BackendRolePolicy(r => !r.Resources.Contains("leases"));
        clusterOptions!.AccessPolicy = withoutLeases;
        var logs = new CapturedLogs();
        await using var provider = ArchivingHost(cluster, new VisionPlatform.Training.Testing.InMemoryRunLogArchive(), logs);
        var hosted = await StartAsync(provider);
        try
        {
            var monitor = provider.GetRequiredService<KubernetesRunMonitor>();
            await Eventually.GetAsync(() => Task.FromResult(monitor.IsSynced), synced => synced, "the monitor to sync");
            await Eventually.GetAsync(
                () => Task.FromResult(cluster.Cluster.Requests.CountWhere(r => r.StatusCode == 403 && r.Path.Contains("/leases/", StringComparison.Ordinal))),
                refused => refused >= 3,
                "the host to try the Lease again");

            logs.Entries.Where(e => e.EventId == 4242).Should().ContainSingle("the missing rule is reported once").Which.Message
                .Should().Contain("coordination.k8s.io").And.Contain("leases").And.Contain("get, create, update");
            monitor.HoldsArchiveLease.Should().BeFalse();
            var executor = provider.GetRequiredKeyedService<ITrainingExecutor>(KubernetesExecutorInfo.ExecutorName);
            var run = await executor.StartAsync(WorkloadHarness.Trainer("rbac-no-lease", """{"epoch_seconds": 0.1}""", epochs: 1).Build());
            await Eventually.GetAsync(() => executor.GetStatusAsync(run), s => s.Phase == TrainingPhase.Succeeded, "the run's status from the monitor", TimeSpan.FromSeconds(120));
        }
        finally
        {
            await StopAsync(hosted);
        }
    }

    private static ServiceProvider ArchivingHost(ClusterHarness cluster, VisionPlatform.Training.Storage.IRunLogArchive archive, CapturedLogs? logs)
    {
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            if (logs is not null)
            {
                b.AddProvider(logs);
            }
        });
        services.AddSingleton(archive);
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(o =>
        {
            o.Connection.Host = cluster.Cluster.Url.ToString().TrimEnd('/');
            o.Image.Registry = "registry.example.com/vision";
            o.Image.Tag = "1.4.0";
            o.PollInterval = TimeSpan.FromMilliseconds(200);
            o.Logs.FlushInterval = TimeSpan.FromMilliseconds(300);
            o.Logs.LeaseDuration = TimeSpan.FromSeconds(3);
        });
        return services.BuildServiceProvider();
    }

    private static async Task<List<IHostedService>> StartAsync(IServiceProvider provider)
    {
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        return hosted;
    }

    private static async Task StopAsync(List<IHostedService> hosted)
    {
        foreach (var service in Enumerable.Reverse(hosted))
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    private static AccessPolicy BackendRolePolicy(Func<V1PolicyRule, bool>? keep = null)
    {
        using var setup = new KubernetesClusterSetup(new KubernetesExecutorOptions { Namespace = Ns });
        var role = KubernetesYaml.LoadAllFromString(setup.RenderYaml()).OfType<V1Role>().Single();
        role.Rules.Should().NotBeEmpty();
        return new AccessPolicy(role.Rules.Where(r => keep?.Invoke(r) != false).SelectMany(r => r.ApiGroups.Select(g => new AccessRule([.. r.Verbs], [.. r.Resources], g, Ns))));
    }

    private static CancellationToken Deadline(int seconds) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    private sealed record LogEntry(int EventId, string Message);

    private sealed class CapturedLogs : ILoggerProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<LogEntry> _entries = new();

        public IReadOnlyList<LogEntry> Entries => [.. _entries];

        public ILogger CreateLogger(string categoryName) => new Logger(_entries);

        public void Dispose()
        {
        }

        private sealed class Logger(System.Collections.Concurrent.ConcurrentQueue<LogEntry> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue(new LogEntry(eventId.Id, formatter(state, exception)));
        }
    }
}
