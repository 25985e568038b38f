using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>metav1.Condition handling as apimachinery's <c>meta.SetStatusCondition</c> does it.</summary>
internal static class Conditions
{
    /// <summary>
    /// Sets a condition in <c>status.conditions</c>: <c>lastTransitionTime</c> moves only when the status changes;
    /// reason, message and <c>observedGeneration</c> are always updated.
    /// </summary>
    public static void Set(JsonObject obj, string type, string status, string reason, string message, DateTimeOffset now)
    {
        var statusObject = obj.Obj("status");
        if (statusObject["conditions"] is not JsonArray conditions)
        {
            conditions = [];
            statusObject["conditions"] = conditions;
        }

        var generation = obj.ObjOrNull("metadata").Long("generation") ?? 1;
        var existing = conditions.Objects().FirstOrDefault(c => c.Str("type") == type);
        if (existing is null)
        {
            conditions.Add(new JsonObject
            {
                ["type"] = type,
                ["status"] = status,
                ["observedGeneration"] = generation,
                ["lastTransitionTime"] = KubeJson.Timestamp(now),
                ["reason"] = reason,
                ["message"] = message,
            });
            return;
        }

        if (existing.Str("status") != status)
        {
            existing["status"] = status;
            existing["lastTransitionTime"] = KubeJson.Timestamp(now);
        }

        existing["reason"] = reason;
        existing["message"] = message;
        existing["observedGeneration"] = generation;
    }

    /// <summary>Turns a True condition False (reason and message given), leaving a missing or False one alone.</summary>
    public static void Clear(JsonObject obj, string type, string reason, string message, DateTimeOffset now)
    {
        if (obj.ConditionIsTrue(type))
        {
            Set(obj, type, "False", reason, message, now);
        }
    }
}
