using System.Globalization;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>The result of matching a failed pod against <c>spec.podFailurePolicy</c>.</summary>
/// <param name="FailJobMessage">Set when a FailJob rule matched: the Job's failure message.</param>
/// <param name="CountFailed">False when an Ignore rule matched (the failure does not count towards backoffLimit).</param>
/// <param name="Action">The matched rule's action, or null when no rule matched.</param>
internal sealed record PodFailurePolicyMatch(string? FailJobMessage, bool CountFailed, string? Action);

/// <summary>
/// The Job controller's pod failure policy: rules in order, first match wins. onExitCodes looks at terminated containers
/// (then init containers) with a non-zero exit code, optionally restricted to one container; onPodConditions matches a pod
/// condition type and status (status defaults to True).
/// </summary>
internal static class PodFailurePolicyMatcher
{
    public static PodFailurePolicyMatch Match(JsonObject? podFailurePolicy, JsonObject failedPod)
    {
        var noMatch = new PodFailurePolicyMatch(null, true, null);
        if (podFailurePolicy is null)
        {
            return noMatch;
        }

        var rules = podFailurePolicy.ArrOrNull("rules").Objects().ToList();
        for (var index = 0; index < rules.Count; index++)
        {
            var rule = rules[index];
            var action = rule.Str("action");
            string? failMessage = null;
            if (rule.ObjOrNull("onExitCodes") is { } onExitCodes)
            {
                var container = MatchOnExitCodes(failedPod, onExitCodes);
                if (container is null)
                {
                    continue;
                }

                failMessage = string.Format(
                    CultureInfo.InvariantCulture,
                    "Container {0} for pod {1}/{2} failed with exit code {3} matching {4} rule at index {5}",
                    container.Str("name"), failedPod.Namespace(), failedPod.Name(),
                    container.ObjOrNull("state").ObjOrNull("terminated").Long("exitCode"), action, index);
            }
            else if (rule.ArrOrNull("onPodConditions") is { } patterns)
            {
                var condition = MatchOnPodConditions(failedPod, patterns);
                if (condition is null)
                {
                    continue;
                }

                failMessage = string.Format(
                    CultureInfo.InvariantCulture,
                    "Pod {0}/{1} has condition {2} matching {3} rule at index {4}",
                    failedPod.Namespace(), failedPod.Name(), condition.Str("type"), action, index);
            }
            else
            {
                continue;
            }

            switch (action)
            {
                case "Ignore":
                    return new PodFailurePolicyMatch(null, false, action);
                case "FailIndex":
                case "Count":
                    return new PodFailurePolicyMatch(null, true, action);
                case "FailJob":
                    return new PodFailurePolicyMatch(failMessage, true, action);
                default:
                    // an unknown action does not match (the upstream switch falls through to the next rule)
                    continue;
            }
        }

        return noMatch;
    }

    private static JsonObject? MatchOnExitCodes(JsonObject pod, JsonObject requirement)
    {
        var status = pod.ObjOrNull("status");
        return MatchContainer(status.ArrOrNull("containerStatuses"), requirement)
            ?? MatchContainer(status.ArrOrNull("initContainerStatuses"), requirement);
    }

    private static JsonObject? MatchContainer(JsonArray? statuses, JsonObject requirement)
    {
        var containerName = requirement.Str("containerName");
        var values = requirement.ArrOrNull("values")?.Select(v => KubeJson.AsLong(v) ?? 0).ToList() ?? [];
        var op = requirement.Str("operator");
        foreach (var status in statuses.Objects())
        {
            var terminated = status.ObjOrNull("state").ObjOrNull("terminated");
            if (terminated is null)
            {
                continue;
            }

            if (containerName is not null && containerName != status.Str("name"))
            {
                continue;
            }

            var exitCode = terminated.Long("exitCode") ?? 0;
            if (exitCode == 0)
            {
                continue;
            }

            var matches = op switch
            {
                "In" => values.Contains(exitCode),
                "NotIn" => !values.Contains(exitCode),
                _ => false,
            };
            if (matches)
            {
                return status;
            }
        }

        return null;
    }

    private static JsonObject? MatchOnPodConditions(JsonObject pod, JsonArray patterns)
    {
        foreach (var condition in pod.ObjOrNull("status").ArrOrNull("conditions").Objects())
        {
            foreach (var pattern in patterns.Objects())
            {
                if (condition.Str("type") == pattern.Str("type") && condition.Str("status") == (pattern.Str("status") ?? "True"))
                {
                    return condition;
                }
            }
        }

        return null;
    }
}
