using k8s;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// Pods the cluster refuses to create (ResourceQuota, a missing ServiceAccount) show in the run's status as
/// <see cref="TrainingStatusReasons.FailedCreate"/> with the API server's message, from the Job controller's Events:
/// through the monitor's Events watch and through a direct read; the run fails after PodCreateFailureTimeout.
/// </summary>
public sealed class PodRefusalTests
{
    [Fact]
    public async Task A_pod_refused_by_a_quota_is_pending_with_the_quota_message_and_runs_once_the_quota_allows_it()
    {
        await using var host = await MonitorHost.StartAsync();
        await host.WaitForSyncAsync();
        await host.Cluster.Client.CoreV1.CreateNamespacedResourceQuotaAsync(NoPods(), "training");
        await using var recorder = new EventRecorder(host.Events, new TrainingEventSubscription { JobId = "refused-1", BufferCapacity = 4096 });

        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("refused-1").Build());
        var phases = await recorder.WaitForAsync(
            e => e.OfType<TrainingPhaseChangedEvent>().Any(p => p.Status.Reason == TrainingStatusReasons.FailedCreate), "the refusal", TimeSpan.FromSeconds(60));

        var refused = phases.OfType<TrainingPhaseChangedEvent>().Select(p => p.Status).First(s => s.Reason == TrainingStatusReasons.FailedCreate);
        refused.Phase.Should().Be(TrainingPhase.Pending);
        refused.Message.Should().StartWith("The cluster refuses to create the run's pod: Error creating: pods \"")
            .And.Contain("is forbidden: exceeded quota: no-pods, requested: pods=1, used: pods=0, limited: pods=0");
        (await host.Executor.GetStatusAsync(run)).Reason.Should().Be(TrainingStatusReasons.FailedCreate, "a read answers the same from the cache");

        await host.Cluster.Client.CoreV1.DeleteNamespacedResourceQuotaAsync("no-pods", "training");
        var events = await recorder.WaitForAsync(e => e.OfType<TrainingPhaseChangedEvent>().Any(p => p.Status.IsTerminal), "the run to finish once the quota is gone", TimeSpan.FromSeconds(120));

        var statuses = events.OfType<TrainingPhaseChangedEvent>().Select(p => p.Status).ToList();
        statuses[^1].Phase.Should().Be(TrainingPhase.Succeeded, statuses[^1].Message);
        statuses.Select(s => s.Reason).Should().ContainInOrder(TrainingStatusReasons.FailedCreate, TrainingStatusReasons.Running, TrainingStatusReasons.Completed);
    }

    [Fact]
    public async Task A_refusal_that_lasts_longer_than_the_timeout_fails_the_run_also_on_a_direct_read()
    {
        await using var h = await WorkloadHarness.StartAsync(executor: o =>
        {
            o.ServiceAccountName = "trainer-that-does-not-exist";
            o.PodCreateFailureTimeout = TimeSpan.FromSeconds(2);
        });

        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("refused-2").Build());
        var pending = await h.WaitForAsync(run, s => s.Reason == TrainingStatusReasons.FailedCreate, "the refusal");
        pending.Phase.Should().Be(TrainingPhase.Pending);
        pending.Message.Should().Contain("error looking up service account training/trainer-that-does-not-exist: serviceaccount \"trainer-that-does-not-exist\" not found");

        var failed = await h.WaitForAsync(run, s => s.IsTerminal, "the refusal to outlast PodCreateFailureTimeout");

        failed.Phase.Should().Be(TrainingPhase.Failed);
        failed.Reason.Should().Be(TrainingStatusReasons.FailedCreate);
        failed.Message.Should().Contain("not found").And.EndWith("(for more than 00:00:02; the Job keeps retrying until it is stopped)");
        (await h.PodsAsync()).Should().BeEmpty("no pod was ever created");
    }

    [Fact]
    public async Task The_sdks_pods_pass_the_restricted_pod_security_profile_by_default()
    {
        await using var h = await WorkloadHarness.StartAsync();
        var ns = await h.Client.CoreV1.ReadNamespaceAsync("training");
        ns.Metadata.Labels ??= new Dictionary<string, string>();
        ns.Metadata.Labels["pod-security.kubernetes.io/enforce"] = "restricted";
        await h.Client.CoreV1.ReplaceNamespaceAsync(ns, "training");

        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("restricted-1").Build());
        var status = await h.WaitForAsync(run, s => s.IsTerminal, "the run to finish");

        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
    }

    [Fact]
    public async Task Under_enforce_restricted_a_privileged_pod_is_refused_with_pod_securitys_message()
    {
        await using var h = await WorkloadHarness.StartAsync();
        var ns = await h.Client.CoreV1.ReadNamespaceAsync("training");
        ns.Metadata.Labels ??= new Dictionary<string, string>();
        ns.Metadata.Labels["pod-security.kubernetes.io/enforce"] = "restricted";
        await h.Client.CoreV1.ReplaceNamespaceAsync(ns, "training");
        var job = Jobs.Builder().Build(WorkloadHarness.Trainer("privileged-1").Build());
        job.Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = true;
        await h.Client.BatchV1.CreateNamespacedJobAsync(job, "training");
        var run = new TrainingRun(KubernetesExecutorInfo.ExecutorName, "privileged-1", $"training/{job.Metadata.Name}");

        var status = await h.WaitForAsync(run, s => s.Reason == TrainingStatusReasons.FailedCreate, "the refusal");

        status.Message.Should().Contain("violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false");
    }

    private static V1ResourceQuota NoPods() => new()
    {
        Metadata = new V1ObjectMeta { Name = "no-pods" },
        Spec = new V1ResourceQuotaSpec { Hard = new Dictionary<string, k8s.Models.ResourceQuantity> { ["pods"] = new("0") } },
    };
}
