using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>The Workload Kueue's job reconciler creates for a batch/v1 Job with a queue name.</summary>
internal static class WorkloadBuilder
{
    private const int HashLength = 5;

    // 253 (the longest object name) less the dash and the hash
    private const int MaxPrefixLength = 252 - HashLength;

    /// <summary>
    /// Kueue's workload name for an owner: <c>&lt;lowercase kind&gt;-&lt;owner name&gt;-&lt;5 hex&gt;</c>, the hash
    /// over the owner's name, uid and kind so that a recreated Job gets another Workload name.
    /// </summary>
    public static string NameFor(string jobName, string jobUid)
    {
        var prefix = "job-" + jobName;
        if (prefix.Length > MaxPrefixLength)
        {
            prefix = prefix[..MaxPrefixLength];
        }

#pragma warning disable CA5350 // a name suffix, not security: Kueue hashes with SHA-1 too
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes($"{jobName}\n{jobUid}\nJob\nbatch"));
#pragma warning restore CA5350
#pragma warning disable CA1308 // Kubernetes names are lowercase
        return prefix + "-" + Convert.ToHexString(hash).ToLowerInvariant()[..HashLength];
#pragma warning restore CA1308
    }

    /// <summary>
    /// The Workload for a Job: owned by it (controller reference), labelled with its uid, one pod set <c>main</c> of
    /// <c>parallelism</c> pods with the Job's pod template, and the priority of its WorkloadPriorityClass (0 without
    /// one; left unset while the named class does not exist, which keeps the workload inadmissible).
    /// </summary>
    public static JsonObject ForJob(JsonObject job, IReadOnlyDictionary<string, JsonObject> priorityClasses)
    {
        var spec = job.ObjOrNull("spec");
        var labels = new JsonObject { [KueueNames.JobUidLabel] = job.Uid() };
        var workloadSpec = new JsonObject
        {
            ["active"] = true,
            ["queueName"] = job.Label(KueueNames.QueueLabel),
            ["podSets"] = new JsonArray(new JsonObject
            {
                ["name"] = "main",
                ["count"] = spec.Long("parallelism") ?? 1,
                ["template"] = spec.ObjOrNull("template")?.DeepClone() ?? new JsonObject(),
            }),
        };
        if (job.Label(KueueNames.PriorityClassLabel) is { Length: > 0 } className)
        {
            labels[KueueNames.PriorityClassLabel] = className;
            workloadSpec["priorityClassName"] = className;
            workloadSpec["priorityClassSource"] = KueueNames.WorkloadPriorityClassSource;
            if (priorityClasses.TryGetValue(className, out var priorityClass))
            {
                workloadSpec["priority"] = priorityClass.Long("value") ?? 0;
            }
        }
        else
        {
            workloadSpec["priority"] = 0;
        }

        return new JsonObject
        {
            ["apiVersion"] = "kueue.x-k8s.io/v1beta1",
            ["kind"] = "Workload",
            ["metadata"] = new JsonObject
            {
                ["name"] = NameFor(job.Name(), job.Uid()),
                ["namespace"] = job.Namespace(),
                ["labels"] = labels,
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = "batch/v1",
                    ["kind"] = "Job",
                    ["name"] = job.Name(),
                    ["uid"] = job.Uid(),
                    ["controller"] = true,
                    ["blockOwnerDeletion"] = true,
                }),
            },
            ["spec"] = workloadSpec,
        };
    }

    /// <summary>Kueue's "wait time" in event messages: whole seconds, Go duration style.</summary>
    public static string WaitTime(TimeSpan wait) =>
        ((long)Math.Max(0, wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s";
}
