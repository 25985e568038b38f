using k8s;
using k8s.Models;
using VisionPlatform.Training.Testing;
using VisionPlatform.Training.TestSupport;

namespace VisionPlatform.Training.Kubernetes.Tests.Conformance;

/// <summary>
/// The Kubernetes executor as a host registers it (<c>AddTrainingExecutors().AddKubernetes(...)</c>, with the run monitor
/// started as a host starts its hosted services) against the in-process test cluster, whose node agent runs the
/// <c>trainer-*</c> images as the demo trainer (samples/trainer/train.py). The trainer's behaviour comes from its knobs in
/// <c>advanced_config</c>, as on the subprocess harness; a job with a label the executor reserves is refused before any
/// API call; a run's record expires as its TTL would end it: the Job is deleted with foreground propagation, as the
/// ttl-after-finished controller deletes it.
/// </summary>
internal sealed class KubernetesConformanceHarness : ExecutorConformanceHarness
{
    private readonly MonitorHost _host;

    private KubernetesConformanceHarness(MonitorHost host) => _host = host;

    public static ExecutorConformanceCapabilities Supported => ExecutorConformanceCapabilities.All;

    public override ITrainingExecutor Executor => _host.Executor;

    public override ITrainingEventSource Events => _host.Events;

    public override ExecutorConformanceCapabilities Capabilities => Supported;

    /// <summary>Pods start as local Python processes on a machine shared with other builds: give each wait room.</summary>
    public override TimeSpan Timeout => TimeSpan.FromSeconds(90);

    public static async Task<KubernetesConformanceHarness> StartAsync()
    {
        var host = await MonitorHost.StartAsync();
        try
        {
            await host.WaitForSyncAsync();
            return new KubernetesConformanceHarness(host);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    public override TrainingJobConfig CreateJob(ConformanceJobRequest request)
    {
        var builder = DemoTrainerJobs.For(request);
        // Small requests, so every pod a case starts fits on the test cluster's node at once.
        builder.Resources = new TrainingResources { CpuRequest = "100m", CpuLimit = "1", MemoryRequest = "64Mi", MemoryLimit = "1Gi" };
        return builder.Build();
    }

    public override ConformanceRejectedJob CreateRejectedJob(string jobId)
    {
        // A valid job for the core, but 'job-name' is a label the Job controller sets on the pods: the executor refuses it
        // while building the Job, before any API call.
        var builder = SampleJobs.YoloBuilder(jobId, labels: [new("job-name", "mine")]);
        return new ConformanceRejectedJob(builder.Build(), "Labels[job-name]");
    }

    public override async Task ExpireRunAsync(TrainingRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        var (ns, name) = KubernetesTrainingExecutor.Locate(run);
        var job = await _host.Cluster.Client.BatchV1.ReadNamespacedJobAsync(name, ns, cancellationToken: cancellationToken);

        // What the ttl-after-finished controller does once ttlSecondsAfterFinished has passed: a foreground delete with
        // the uid as precondition, so the pods go first and then the Job.
        await _host.Cluster.Client.BatchV1.DeleteNamespacedJobAsync(
            name,
            ns,
            new V1DeleteOptions { PropagationPolicy = "Foreground", Preconditions = new V1Preconditions { Uid = job.Metadata.Uid } },
            cancellationToken: cancellationToken);

        // Then wait, woken by the monitor's changes of this run, until the executor no longer sees the run.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        while (true)
        {
            var changed = _host.Monitor.Changed(run);
            if ((await Executor.GetStatusAsync(run, deadline.Token)).Phase == TrainingPhase.NotFound &&
                await Executor.FindAsync(run.JobId, deadline.Token) is null)
            {
                return;
            }

            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"The executor still saw run '{run}' {Timeout} after its Job was deleted.");
            }
        }
    }

    protected override async ValueTask DisposeAsyncCore()
    {
        // Stop what a case left running (the cluster's disposal would kill the processes anyway), then the host and the cluster.
        try
        {
            foreach (var status in await Executor.ListAsync())
            {
                if (!status.IsTerminal)
                {
                    await Executor.StopAsync(status.Run, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(1) });
                }
            }
        }
        finally
        {
            await _host.DisposeAsync();
        }
    }
}
