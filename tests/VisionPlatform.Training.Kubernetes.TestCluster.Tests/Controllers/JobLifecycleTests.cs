using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Controllers;

public class JobLifecycleTests
{
    internal static JsonObject TrainerJob(string name, IEnumerable<string> args, Action<JsonObject>? spec = null)
    {
        var job = new JsonObject
        {
            ["apiVersion"] = "batch/v1",
            ["kind"] = "Job",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "ml" },
            ["spec"] = new JsonObject
            {
                ["backoffLimit"] = 0,
                ["template"] = new JsonObject
                {
                    ["spec"] = new JsonObject
                    {
                        ["restartPolicy"] = "Never",
                        ["terminationGracePeriodSeconds"] = 5,
                        ["containers"] = new JsonArray(new JsonObject
                        {
                            ["name"] = "trainer",
                            ["image"] = "trainer-ultralytics:test",
                            ["command"] = new JsonArray("python", "train.py"),
                            ["args"] = new JsonArray(args.Select(a => (JsonNode?)a).ToArray()),
                            ["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "workspace", ["mountPath"] = "/workspace" }),
                        }),
                        ["volumes"] = new JsonArray(new JsonObject { ["name"] = "workspace", ["emptyDir"] = new JsonObject() }),
                    },
                },
            },
        };
        spec?.Invoke(job["spec"]!.AsObject());
        return job;
    }

    [Fact]
    public async Task A_trainer_job_runs_to_completion_on_the_bare_store()
    {
        await using var cluster = await ComponentHarness.StartAsync();
        cluster.Store.Create(ResourceType.Jobs, "ml", TrainerJob("train-1", ["--job_id", "1", "--epochs", "2", "--epoch_seconds", "0.1", "--output_dir", "/workspace/output"]));

        var job = await cluster.WaitForAsync(ResourceType.Jobs, "train-1", j => j.ConditionIsTrue("Complete"));

        ((int?)job["status"]!["succeeded"]).Should().Be(1);
        var pods = cluster.Store.List(ResourceType.Pods, "ml").Items;
        var pod = pods.Should().ContainSingle().Subject;
        pod.PodPhase().Should().Be("Succeeded");
        pod.Finalizers().Should().BeEmpty();
        var log = await File.ReadAllTextAsync(cluster.Context.ContainerLogPath("ml", pod.Name(), "trainer"));
        log.Should().Contain("VP_PROGRESS");
        Directory.EnumerateFiles(Path.Combine(cluster.Context.DataDirectory, "pods", pod.Uid(), "volumes", "workspace", "output")).Should().NotBeEmpty();
    }
}
