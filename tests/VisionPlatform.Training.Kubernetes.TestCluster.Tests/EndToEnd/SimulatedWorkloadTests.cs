using System.Globalization;
using k8s;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.EndToEnd;

/// <summary>Simulated images: pods that run for a while and exit without a local process, for scale tests and benchmarks.</summary>
public class SimulatedWorkloadTests
{
    private const string SimulatedImage = "registry.example.com/simulated-trainer:1.0";

    /// <summary>Runs for SIM_RUN_MS milliseconds and exits with SIM_EXIT_CODE, both from the container's environment.</summary>
    private static readonly ImageMapping FromEnvironment = ImageMapping.Simulated(start => new SimulatedRun(
        TimeSpan.FromMilliseconds(int.Parse(start.Environment["SIM_RUN_MS"], CultureInfo.InvariantCulture)),
        int.Parse(start.Environment.GetValueOrDefault("SIM_EXIT_CODE", "0"), CultureInfo.InvariantCulture))
    {
        Output = [$"simulated {start.Image}: {string.Join(' ', start.Arguments)}"],
    });

    private static V1Job SimulatedJob(string name, int runMs, int exitCode = 0) =>
        WorkloadCluster.TrainerJob(name, ["--epochs", "1"], image: SimulatedImage, configure: spec =>
        {
            var container = spec.Template.Spec.Containers[0];
            // a program that does not exist on this machine: nothing is started for a simulated image
            container.Command = ["/opt/simulated/entrypoint"];
            container.Env =
            [
                new V1EnvVar { Name = "SIM_RUN_MS", Value = runMs.ToString(CultureInfo.InvariantCulture) },
                new V1EnvVar { Name = "SIM_EXIT_CODE", Value = exitCode.ToString(CultureInfo.InvariantCulture) },
            ];
        });

    [Fact]
    public async Task A_simulated_container_runs_for_its_time_then_completes_like_a_process()
    {
        await using var env = await WorkloadCluster.StartAsync(o => o.Workloads.Images[SimulatedImage] = FromEnvironment);
        // Long enough that a poll delayed by a loaded machine still sees the pod running.
        await env.CreateAsync(SimulatedJob("sim-ok", runMs: 3000));

        var running = await env.WaitForPodAsync("sim-ok", p => p.Status?.Phase == "Running");
        var trainer = running.Status.ContainerStatuses.Single();
        (trainer.Ready, trainer.Started).Should().Be((true, true));
        trainer.State.Running.StartedAt.Should().NotBeNull();
        var log = await env.ReadLogAsync(running.Metadata.Name);
        log.Should().Contain("simulated registry.example.com/simulated-trainer:1.0: /opt/simulated/entrypoint --job_id sim-ok --epochs 1 --output_dir ");
        log.Should().Contain("/volumes/workspace/output", "paths are rewritten as for a process");

        var done = await env.WaitForJobAsync("sim-ok", j => j.Status?.Conditions?.Any(c => c.Type == "Complete") == true);
        done.Status.Succeeded.Should().Be(1);
        var pod = (await env.PodsOfAsync("sim-ok")).Single();
        pod.Status.Phase.Should().Be("Succeeded");
        var terminated = pod.Status.ContainerStatuses.Single().State.Terminated;
        (terminated.ExitCode, terminated.Reason).Should().Be((0, "Completed"));
        (terminated.FinishedAt!.Value - terminated.StartedAt!.Value).Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1), "it ran for its simulated time");
    }

    [Fact]
    public async Task A_simulated_exit_code_fails_the_pod_and_the_job()
    {
        await using var env = await WorkloadCluster.StartAsync(o => o.Workloads.Images[SimulatedImage] = FromEnvironment);
        await env.CreateAsync(SimulatedJob("sim-fail", runMs: 100, exitCode: 2));

        var failed = await env.WaitForJobAsync("sim-fail", j => j.Status?.Conditions?.Any(c => c.Type == "Failed") == true);

        failed.Status.Failed.Should().Be(1);
        failed.Status.Conditions.Single(c => c.Type == "Failed").Reason.Should().Be("BackoffLimitExceeded");
        var terminated = (await env.PodsOfAsync("sim-fail")).Single().Status.ContainerStatuses.Single().State.Terminated;
        (terminated.ExitCode, terminated.Reason).Should().Be((2, "Error"));
    }

    [Fact]
    public async Task Deleting_a_running_simulated_pod_ends_it_at_once_with_sigterms_exit_code()
    {
        await using var env = await WorkloadCluster.StartAsync(o => o.Workloads.Images[SimulatedImage] = ImageMapping.Simulated(TimeSpan.FromMinutes(10)));
        await env.CreateAsync(SimulatedJob("sim-long", runMs: 0));
        var running = await env.WaitForPodAsync("sim-long", p => p.Status?.Phase == "Running");

        await env.Client.CoreV1.DeleteNamespacedPodAsync(running.Metadata.Name, WorkloadCluster.Namespace);

        var job = await env.WaitForJobAsync("sim-long", j => j.Status?.Failed == 1, seconds: 20);
        job.Status.Failed.Should().Be(1, "the deleted pod counts as failed; its 30 s grace period was not waited out");
    }

    [Fact]
    public async Task An_input_the_simulation_rejects_exits_at_once_with_code_1_and_says_why_in_the_log()
    {
        await using var env = await WorkloadCluster.StartAsync(o => o.Workloads.Images[SimulatedImage] = FromEnvironment);
        var job = SimulatedJob("sim-bad", runMs: 0);
        job.Spec.Template.Spec.Containers[0].Env = [new V1EnvVar { Name = "SIM_RUN_MS", Value = "soon" }];
        await env.CreateAsync(job);

        await env.WaitForJobAsync("sim-bad", j => j.Status?.Conditions?.Any(c => c.Type == "Failed") == true);

        var pod = (await env.PodsOfAsync("sim-bad")).Single();
        pod.Status.ContainerStatuses.Single().State.Terminated.ExitCode.Should().Be(1);
        (await env.ReadLogAsync(pod.Metadata.Name)).Should().Contain("soon");
    }
}
