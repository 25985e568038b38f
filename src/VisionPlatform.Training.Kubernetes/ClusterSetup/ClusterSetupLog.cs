using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>The cluster set-up's log messages (event ids 4500-4549). Objects are named; Secret values never appear.</summary>
internal static partial class ClusterSetupLog
{
    [LoggerMessage(EventId = 4501, Level = LogLevel.Information, Message = "Cluster set-up: created {Kind} {Name} in namespace {Namespace}")]
    public static partial void Created(ILogger logger, string kind, string name, string? @namespace);

    [LoggerMessage(EventId = 4502, Level = LogLevel.Information, Message = "Cluster set-up: updated {Kind} {Name} in namespace {Namespace} (changed: {Differences})")]
    public static partial void Updated(ILogger logger, string kind, string name, string? @namespace, string differences);

    [LoggerMessage(EventId = 4503, Level = LogLevel.Debug, Message = "Cluster set-up: {Kind} {Name} in namespace {Namespace} is {State}")]
    public static partial void Unchanged(ILogger logger, string kind, string name, string? @namespace, ClusterResourceState state);

    [LoggerMessage(EventId = 4504, Level = LogLevel.Warning, Message = "Cluster set-up: {Kind} {Name} in namespace {Namespace} is {State} (differs in: {Differences}): {Reason}")]
    public static partial void Drift(ILogger logger, string kind, string name, string? @namespace, ClusterResourceState state, string differences, string reason);

    [LoggerMessage(EventId = 4505, Level = LogLevel.Information, Message = "Cluster set-up: {Kind} {Name} skipped: {Reason}")]
    public static partial void Skipped(ILogger logger, string kind, string name, string reason);

    [LoggerMessage(EventId = 4506, Level = LogLevel.Information, Message = "Cluster set-up of namespace {Namespace} ({Mode}) finished: {Summary}")]
    public static partial void Finished(ILogger logger, string @namespace, string mode, string summary);

    public static void Report(ILogger logger, ClusterResourceResult result)
    {
        var differences = result.Differences.Count == 0 ? "-" : string.Join(", ", result.Differences);
        switch (result.State)
        {
            case ClusterResourceState.Created:
                Created(logger, result.Kind, result.Name, result.Namespace);
                break;
            case ClusterResourceState.Updated:
                Updated(logger, result.Kind, result.Name, result.Namespace, differences);
                break;
            case ClusterResourceState.Unchanged:
                Unchanged(logger, result.Kind, result.Name, result.Namespace, result.State);
                break;
            case ClusterResourceState.Skipped:
                Skipped(logger, result.Kind, result.Name, result.Message ?? "");
                break;
            default:
                Drift(logger, result.Kind, result.Name, result.Namespace, result.State, differences, result.Message ?? "");
                break;
        }
    }
}
