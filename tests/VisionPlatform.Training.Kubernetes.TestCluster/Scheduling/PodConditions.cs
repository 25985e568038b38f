using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;

/// <summary>Writes pod conditions the way the kubelet and scheduler do: <c>lastProbeTime: null</c>, and a new
/// <c>lastTransitionTime</c> only when the status flips.</summary>
internal static class PodConditions
{
    public static void Set(JsonObject status, string type, string conditionStatus, string? reason, string? message, string now)
    {
        if (status["conditions"] is not JsonArray conditions)
        {
            conditions = [];
            status["conditions"] = conditions;
        }

        var existing = conditions.Objects().FirstOrDefault(c => c.Str("type") == type);
        var transition = existing is not null && existing.Str("status") == conditionStatus ? existing.Str("lastTransitionTime") ?? now : now;
        var condition = new JsonObject
        {
            ["type"] = type,
            ["status"] = conditionStatus,
            ["lastProbeTime"] = null,
            ["lastTransitionTime"] = transition,
        };
        if (reason is not null)
        {
            condition["reason"] = reason;
        }

        if (message is not null)
        {
            condition["message"] = message;
        }

        if (existing is null)
        {
            conditions.Add(condition);
        }
        else
        {
            conditions[conditions.IndexOf(existing)] = condition;
        }
    }
}
