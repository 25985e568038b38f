using System.Text.Json.Nodes;
using k8s;
using VisionPlatform.Training.Kubernetes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// Puts many running SDK runs straight into the test cluster's store (no HTTP, no controllers): for each, the Job the
/// SDK's own spec builder makes, with a running status, and one Running pod owned by it, labelled as the Job
/// controller labels its pods. Cheap enough for 10,000 runs; the monitor then lists and watches them like any others.
/// </summary>
internal static class MonitorTrackedRuns
{
    public static void Populate(ClusterStore store, TrainingJobSpecBuilder specs, string ns, int count, DateTimeOffset now)
    {
        var timestamp = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < count; i++)
        {
            var config = MonitorScenario.NewJob($"tracked-{i}", TimeSpan.FromHours(1), exitCode: 0);
            var job = JsonNode.Parse(KubernetesJson.Serialize(specs.Build(config)))!.AsObject();
            job["status"] = new JsonObject
            {
                ["startTime"] = timestamp,
                ["active"] = 1,
                ["ready"] = 1,
                ["terminating"] = 0,
                ["uncountedTerminatedPods"] = new JsonObject(),
            };
            var created = store.Create(ResourceType.Jobs, ns, job);
            var name = created["metadata"]!["name"]!.GetValue<string>();
            var uid = created["metadata"]!["uid"]!.GetValue<string>();
            store.Create(ResourceType.Pods, ns, RunningPod(created, name, uid, timestamp));
        }
    }

    private static JsonObject RunningPod(JsonObject job, string jobName, string uid, string timestamp)
    {
        var template = job["spec"]!["template"]!.AsObject();
        var labels = template["metadata"]?["labels"]?.DeepClone().AsObject() ?? new JsonObject();
        labels["batch.kubernetes.io/controller-uid"] = uid;
        labels["batch.kubernetes.io/job-name"] = jobName;
        labels["controller-uid"] = uid;
        labels["job-name"] = jobName;
        var spec = template["spec"]!.DeepClone().AsObject();
        spec["nodeName"] = "node-1";
        var image = spec["containers"]![0]!["image"]!.GetValue<string>();
        return new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = jobName + "-" + uid[..5],
                ["labels"] = labels,
                ["annotations"] = template["metadata"]?["annotations"]?.DeepClone(),
                ["finalizers"] = new JsonArray("batch.kubernetes.io/job-tracking"),
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = "batch/v1",
                    ["kind"] = "Job",
                    ["name"] = jobName,
                    ["uid"] = uid,
                    ["controller"] = true,
                    ["blockOwnerDeletion"] = true,
                }),
            },
            ["spec"] = spec,
            ["status"] = new JsonObject
            {
                ["phase"] = "Running",
                ["startTime"] = timestamp,
                ["hostIP"] = "10.0.0.10",
                ["podIP"] = "10.244.0.2",
                ["containerStatuses"] = new JsonArray(new JsonObject
                {
                    ["name"] = TrainingJobSpecBuilder.ContainerName,
                    ["image"] = image,
                    ["imageID"] = image + "@sha256:0",
                    ["ready"] = true,
                    ["started"] = true,
                    ["restartCount"] = 0,
                    ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = timestamp } },
                }),
            },
        };
    }
}
