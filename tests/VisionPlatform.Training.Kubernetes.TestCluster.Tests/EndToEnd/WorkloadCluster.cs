using k8s;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Tests.Controllers;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.EndToEnd;

/// <summary>A test cluster with the demo trainer mapped, and a KubernetesClient talking to it over HTTP.</summary>
internal sealed class WorkloadCluster : IAsyncDisposable
{
    public const string Namespace = "ml";
    public const string TrainerImage = "trainer-ultralytics:test";

    private WorkloadCluster(KubernetesTestCluster cluster)
    {
        Cluster = cluster;
        Client = cluster.CreateClient();
    }

    public KubernetesTestCluster Cluster { get; }

    public IKubernetes Client { get; }

    public WorkloadFaults Workloads => Cluster.Workloads;

    public static async Task<WorkloadCluster> StartAsync(Action<KubernetesTestClusterOptions>? configure = null)
    {
        var options = new KubernetesTestClusterOptions();
        options.Namespaces.Add(Namespace);
        options.Workloads.Images[TrainerImage] = ImageMapping.PythonTrainer(ComponentHarness.TrainScript);
        options.Workloads.JobPodFailureBackoff = TimeSpan.FromMilliseconds(200);
        options.Workloads.ImagePullBackoff = TimeSpan.FromMilliseconds(500);
        configure?.Invoke(options);
        return new WorkloadCluster(await KubernetesTestCluster.StartAsync(options));
    }

    /// <summary>A Job like the platform's: container <c>trainer</c> running <c>python train.py</c>, a workspace emptyDir.</summary>
    public static V1Job TrainerJob(string name, IEnumerable<string> trainerArgs, string image = TrainerImage, Action<V1JobSpec>? configure = null)
    {
        var spec = new V1JobSpec
        {
            BackoffLimit = 0,
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "training-job" } },
                Spec = new V1PodSpec
                {
                    RestartPolicy = "Never",
                    TerminationGracePeriodSeconds = 5,
                    Containers =
                    [
                        new V1Container
                        {
                            Name = "trainer",
                            Image = image,
                            Command = ["python", "train.py"],
                            Args = ["--job_id", name, .. trainerArgs, "--output_dir", "/workspace/output"],
                            VolumeMounts = [new V1VolumeMount { Name = "workspace", MountPath = "/workspace" }],
                        },
                    ],
                    Volumes = [new V1Volume { Name = "workspace", EmptyDir = new V1EmptyDirVolumeSource() }],
                },
            },
        };
        configure?.Invoke(spec);
        return new V1Job { Metadata = new V1ObjectMeta { Name = name }, Spec = spec };
    }

    public Task<V1Job> CreateAsync(V1Job job) => Client.BatchV1.CreateNamespacedJobAsync(job, Namespace);

    public async Task<V1Job> WaitForJobAsync(string name, Func<V1Job, bool> condition, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        V1Job? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await Client.BatchV1.ReadNamespacedJobAsync(name, Namespace);
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Job {name} did not reach the expected state; last status: {KubernetesJson.Serialize(last?.Status)}\n{await DescribePodsAsync()}");
    }

    public async Task<IList<V1Pod>> PodsOfAsync(string jobName) =>
        (await Client.CoreV1.ListNamespacedPodAsync(Namespace, labelSelector: $"batch.kubernetes.io/job-name={jobName}")).Items;

    public async Task<V1Pod> WaitForPodAsync(string jobName, Func<V1Pod, bool> condition, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            var match = (await PodsOfAsync(jobName)).FirstOrDefault(condition);
            if (match is not null)
            {
                return match;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"no pod of {jobName} reached the expected state\n{await DescribePodsAsync()}");
    }

    public async Task WaitUntilAsync(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"timed out waiting until {what}\n{await DescribePodsAsync()}");
    }

    public async Task<string> ReadLogAsync(string podName)
    {
        using var stream = await Client.CoreV1.ReadNamespacedPodLogAsync(podName, Namespace, container: "trainer");
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    /// <summary>
    /// Whether a local process of this cluster still carries this marker on its command line (the job id we passed).
    /// Its paths are rewritten into the cluster's data directory, so runs of other clusters on the machine (another test
    /// run with the same job names) do not count.
    /// </summary>
    public bool ProcessRunningWith(string marker)
    {
        var dataDirectory = Cluster.Context.DataDirectory;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0');
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                if (cmdline.Contains(marker) && cmdline.Any(a => a.StartsWith(dataDirectory, StringComparison.Ordinal)) && !stat.Contains(") Z ", StringComparison.Ordinal))
                {
                    return true;
                }
            }
            catch (IOException)
            {
                // the process went away while we looked
            }
            catch (UnauthorizedAccessException)
            {
                // not ours
            }
        }

        return false;
    }

    public async Task<string> DescribePodsAsync()
    {
        var pods = await Client.CoreV1.ListNamespacedPodAsync(Namespace);
        return string.Join('\n', pods.Items.Select(p => KubernetesJson.Serialize(p)));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Cluster.DisposeAsync();
    }
}
