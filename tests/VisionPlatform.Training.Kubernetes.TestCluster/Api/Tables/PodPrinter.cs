using System.Globalization;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;

/// <summary>
/// printPod of the apiserver's printers: READY counts ready running containers (and started restartable init
/// containers), STATUS is the phase or pod reason overridden by init container progress (<c>Init:1/2</c>,
/// <c>Init:Error</c>, <c>Init:ExitCode:N</c>), then by the containers' waiting or terminated reasons
/// (<c>ContainerCreating</c>, <c>ErrImagePull</c>, <c>Completed</c>, <c>Error</c>, <c>ExitCode:N</c>),
/// <c>Terminating</c> for a deleted pod that has not finished; RESTARTS adds "(5m ago)" from the newest last termination.
/// </summary>
internal static class PodPrinter
{
    public static ResourcePrinter Printer { get; } = new(
    [
        TableColumn.ObjectName,
        new("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
        new("Status", "string", "The aggregate status of the containers in this pod."),
        new("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
        TableColumn.Age,
        new("IP", "string", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
        new("Node", "string", "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName.", 1),
        new("Nominated Node", "string", "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.", 1),
        new("Readiness Gates", "string", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
    ], Print);

    private static PrintedRow Print(JsonObject pod, DateTimeOffset now)
    {
        var spec = pod["spec"];
        var status = pod["status"];
        var restarts = 0L;
        var restartableInitRestarts = 0L;
        var totalContainers = PrintFormat.Objects(spec, "containers").Count();
        var readyContainers = 0;
        DateTimeOffset? lastRestart = null;
        DateTimeOffset? lastRestartableInitRestart = null;

        var phase = Json.GetString(status, "phase") ?? "";
        var reason = Json.GetString(status, "reason") is { Length: > 0 } podReason ? podReason : phase;
        if (PrintFormat.Objects(status, "conditions").Any(c => Json.GetString(c, "type") == "PodScheduled" && Json.GetString(c, "reason") == "SchedulingGated"))
        {
            reason = "SchedulingGated";
        }

        JsonArray? conditions = phase switch
        {
            "Succeeded" => RowCompleted("Succeeded", "The pod has completed successfully."),
            "Failed" => RowCompleted("Failed", "The pod failed."),
            _ => null,
        };

        var initContainers = PrintFormat.Objects(spec, "initContainers").ToList();
        var restartable = initContainers.Where(c => Json.GetString(c, "restartPolicy") == "Always")
            .Select(c => Json.GetString(c, "name")).ToHashSet(StringComparer.Ordinal);
        totalContainers += restartable.Count;

        var initializing = false;
        var initStatuses = PrintFormat.Objects(status, "initContainerStatuses").ToList();
        for (var i = 0; i < initStatuses.Count; i++)
        {
            var container = initStatuses[i];
            restarts += Json.GetLong(container, "restartCount") ?? 0;
            var finished = Json.ParseTime(Json.GetString(container, "lastState", "terminated", "finishedAt"));
            lastRestart = Later(lastRestart, finished);
            var isRestartable = restartable.Contains(Json.GetString(container, "name") ?? "");
            if (isRestartable)
            {
                restartableInitRestarts += Json.GetLong(container, "restartCount") ?? 0;
                lastRestartableInitRestart = Later(lastRestartableInitRestart, finished);
            }

            var terminated = Json.Walk(container, "state", "terminated") as JsonObject;
            var waitingReason = Json.GetString(container, "state", "waiting", "reason");
            if (terminated is not null && (Json.GetLong(terminated, "exitCode") ?? 0) == 0)
            {
                continue;
            }

            if (isRestartable && Json.GetBool(container, "started") == true)
            {
                if (Json.GetBool(container, "ready") == true)
                {
                    readyContainers++;
                }

                continue;
            }

            if (terminated is not null)
            {
                // initialization failed
                reason = Json.GetString(terminated, "reason") is { Length: > 0 } r
                    ? "Init:" + r
                    : Json.GetLong(terminated, "signal") is { } signal and not 0
                        ? Invariant($"Init:Signal:{signal}")
                        : Invariant($"Init:ExitCode:{Json.GetLong(terminated, "exitCode") ?? 0}");
            }
            else if (waitingReason is { Length: > 0 } && waitingReason != "PodInitializing")
            {
                reason = "Init:" + waitingReason;
            }
            else
            {
                reason = Invariant($"Init:{i}/{initContainers.Count}");
            }

            initializing = true;
            break;
        }

        if (!initializing || PrintFormat.ConditionStatus(pod, "Initialized") == "True")
        {
            restarts = restartableInitRestarts;
            lastRestart = lastRestartableInitRestart;
            var hasRunning = false;
            var statuses = PrintFormat.Objects(status, "containerStatuses").ToList();
            for (var i = statuses.Count - 1; i >= 0; i--)
            {
                var container = statuses[i];
                restarts += Json.GetLong(container, "restartCount") ?? 0;
                lastRestart = Later(lastRestart, Json.ParseTime(Json.GetString(container, "lastState", "terminated", "finishedAt")));
                var terminated = Json.Walk(container, "state", "terminated") as JsonObject;
                if (Json.GetString(container, "state", "waiting", "reason") is { Length: > 0 } waiting)
                {
                    reason = waiting;
                }
                else if (terminated is not null && Json.GetString(terminated, "reason") is { Length: > 0 } terminatedReason)
                {
                    reason = terminatedReason;
                }
                else if (terminated is not null)
                {
                    reason = Json.GetLong(terminated, "signal") is { } signal and not 0
                        ? Invariant($"Signal:{signal}")
                        : Invariant($"ExitCode:{Json.GetLong(terminated, "exitCode") ?? 0}");
                }
                else if (Json.GetBool(container, "ready") == true && Json.Walk(container, "state", "running") is JsonObject)
                {
                    hasRunning = true;
                    readyContainers++;
                }
            }

            // back to "Running" while at least one container still runs
            if (reason == "Completed" && hasRunning)
            {
                reason = PrintFormat.ConditionStatus(pod, "Ready") == "True" ? "Running" : "NotReady";
            }
        }

        var deleting = Json.GetString(pod, "metadata", "deletionTimestamp") is not null;
        if (deleting && Json.GetString(status, "reason") == "NodeLost")
        {
            reason = "Unknown";
        }
        else if (deleting && phase is not ("Succeeded" or "Failed"))
        {
            reason = "Terminating";
        }

        var restartsText = restarts.ToString(CultureInfo.InvariantCulture);
        if (restarts != 0 && lastRestart is { } last)
        {
            restartsText = Invariant($"{restarts} ({HumanDuration.Format(now - last)} ago)");
        }

        var ips = PrintFormat.Objects(status, "podIPs").Select(p => Json.GetString(p, "ip")).FirstOrDefault();
        var gates = PrintFormat.Objects(spec, "readinessGates").Select(g => Json.GetString(g, "conditionType")).ToList();
        var readinessGates = gates.Count == 0
            ? "<none>"
            : Invariant($"{gates.Count(g => PrintFormat.ConditionStatus(pod, g ?? "") == "True")}/{gates.Count}");
        return new PrintedRow(
        [
            Json.GetString(pod, "metadata", "name"),
            Invariant($"{readyContainers}/{totalContainers}"),
            reason,
            restartsText,
            HumanDuration.Since(Json.GetString(pod, "metadata", "creationTimestamp"), now),
            PrintFormat.NoneIfEmpty(ips),
            PrintFormat.NoneIfEmpty(Json.GetString(spec, "nodeName")),
            PrintFormat.NoneIfEmpty(Json.GetString(status, "nominatedNodeName")),
            readinessGates,
        ], conditions);
    }

    private static JsonArray RowCompleted(string reason, string message) =>
        [new JsonObject { ["type"] = "Completed", ["status"] = "True", ["reason"] = reason, ["message"] = message }];

    private static DateTimeOffset? Later(DateTimeOffset? current, DateTimeOffset? candidate) =>
        candidate is { } c && (current is null || c > current) ? c : current;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
