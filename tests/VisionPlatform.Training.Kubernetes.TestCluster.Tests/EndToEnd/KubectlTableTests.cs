using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.EndToEnd;

/// <summary>
/// The build machine's kubectl against a cluster running simulated Jobs: <c>kubectl get</c> asks for server-side
/// Tables and prints the apiserver's columns (STATUS, COMPLETIONS, DURATION for Jobs; READY, STATUS, RESTARTS and
/// the wide IP and NODE for pods) instead of NAME and AGE only.
/// </summary>
public sealed partial class KubectlTableTests : IDisposable
{
    private const string LongImage = "registry.example.com/simulated-long:1.0";
    private const string ShortImage = "registry.example.com/simulated-short:1.0";

    private readonly string _home = Directory.CreateTempSubdirectory("vp-kubectl-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task Kubectl_get_prints_the_apiservers_columns_for_running_and_completed_jobs_their_pods_and_config()
    {
        await using var env = await WorkloadCluster.StartAsync(o =>
        {
            o.Workloads.Images[LongImage] = ImageMapping.Simulated(TimeSpan.FromMinutes(10));
            o.Workloads.Images[ShortImage] = ImageMapping.Simulated(TimeSpan.FromMilliseconds(200));
        });
        await env.CreateAsync(WorkloadCluster.TrainerJob("done", [], image: ShortImage));
        await env.WaitForJobAsync("done", j => j.Status?.Conditions?.Any(c => c is { Type: "Complete", Status: "True" }) == true);
        await env.CreateAsync(WorkloadCluster.TrainerJob("busy", [], image: LongImage));
        var running = await env.WaitForPodAsync("busy", p => p.Status?.Phase == "Running" && p.Status.ContainerStatuses?.All(c => c.Ready) == true);
        await env.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "settings" },
            Data = new Dictionary<string, string> { ["epochs"] = "3", ["model"] = "yolo" },
        }, WorkloadCluster.Namespace);
        await env.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "creds" },
            Type = "Opaque",
            StringData = new Dictionary<string, string> { ["token"] = "t" },
        }, WorkloadCluster.Namespace);
        var kubeconfig = env.Cluster.WriteKubeconfig();
        Task<string> Kubectl(params string[] arguments) => TestSupport.Kubectl.RunAsync(kubeconfig, _home, arguments);

        var jobs = Rows(await Kubectl("get", "jobs", "-n", WorkloadCluster.Namespace));
        jobs[0].Should().Equal("NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE");
        jobs.Should().HaveCount(3);
        var busy = jobs.Single(r => r[0] == "busy");
        busy[1..3].Should().Equal("Running", "0/1");
        busy[3].Should().MatchRegex("^[0-9]+s$", "a running Job's duration counts from its start");
        var done = jobs.Single(r => r[0] == "done");
        done[1..3].Should().Equal("Complete", "1/1");
        done[3].Should().MatchRegex("^[0-9]+s$");

        var wideJobs = Rows(await Kubectl("get", "job", "busy", "-n", WorkloadCluster.Namespace, "-o", "wide"));
        wideJobs[0].Should().Equal("NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE", "CONTAINERS", "IMAGES", "SELECTOR");
        wideJobs[1][5..7].Should().Equal("trainer", LongImage);
        wideJobs[1][7].Should().StartWith("batch.kubernetes.io/controller-uid=");

        var pods = Rows(await Kubectl("get", "pods", "-n", WorkloadCluster.Namespace, "-o", "wide"));
        pods[0].Should().Equal("NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES");
        var busyPod = pods.Single(r => r[0] == running.Metadata.Name);
        busyPod[1..4].Should().Equal("1/1", "Running", "0");
        busyPod[5..].Should().Equal(running.Status.PodIP ?? "<none>", running.Spec.NodeName, "<none>", "<none>");
        var donePod = pods.Single(r => r[0].StartsWith("done-", StringComparison.Ordinal));
        donePod[1..4].Should().Equal("0/1", "Completed", "0");

        var config = await Kubectl("get", "configmaps,secrets", "-n", WorkloadCluster.Namespace);
        var sections = config.Split("\n\n");
        sections.Should().HaveCount(2, config);
        var configMaps = Rows(sections[0]);
        configMaps[0].Should().Equal("NAME", "DATA", "AGE");
        configMaps.Single(r => r[0] == "configmap/settings")[1].Should().Be("2");
        var secrets = Rows(sections[1]);
        secrets[0].Should().Equal("NAME", "TYPE", "DATA", "AGE");
        secrets.Single(r => r[0] == "secret/creds")[1..3].Should().Equal("Opaque", "1");
    }

    private static List<string[]> Rows(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => Whitespace().Split(line))
            .ToList();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
