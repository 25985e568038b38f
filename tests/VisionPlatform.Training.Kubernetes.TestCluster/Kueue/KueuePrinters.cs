using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>
/// The tables <c>kubectl get</c> shows for Kueue's objects: the CRDs' <c>additionalPrinterColumns</c>. As for any
/// CRD, a <c>date</c> column carries the timestamp itself (kubectl turns it into an age).
/// </summary>
internal static class KueuePrinters
{
    private static readonly TableColumn Age = new("Age", "date", "");

    public static ResourcePrinter Workload { get; } = new(
        [
            TableColumn.ObjectName,
            new("Queue", "string", "Name of the queue this workload was submitted to"),
            new("Reserved in", "string", "Name of the ClusterQueue where the workload is reserving quota"),
            new("Admitted", "string", "Admission status"),
            new("Finished", "string", "Workload finished"),
            Age,
        ],
        (o, _) => new PrintedRow([o.Name(), o.ObjOrNull("spec").Str("queueName"), o.ObjOrNull("status").ObjOrNull("admission").Str("clusterQueue"),
            o.Condition(KueueNames.Admitted).Str("status"), o.Condition(KueueNames.Finished).Str("status"), Created(o)]));

    public static ResourcePrinter ClusterQueue { get; } = new(
        [
            TableColumn.ObjectName,
            new("Cohort", "string", "Cohort that this ClusterQueue belongs to"),
            new("Strategy", "string", "The queueing strategy used to prioritize workloads", 1),
            new("Pending Workloads", "integer", "Number of pending workloads"),
            new("Admitted Workloads", "integer", "Number of admitted workloads that haven't finished yet", 1),
        ],
        (o, _) => new PrintedRow([o.Name(), o.ObjOrNull("spec").Str("cohort"), o.ObjOrNull("spec").Str("queueingStrategy"),
            o.ObjOrNull("status").Long("pendingWorkloads"), o.ObjOrNull("status").Long("admittedWorkloads")]));

    public static ResourcePrinter LocalQueue { get; } = new(
        [
            TableColumn.ObjectName,
            new("ClusterQueue", "string", "Backing ClusterQueue"),
            new("Pending Workloads", "integer", "Number of pending workloads"),
            new("Admitted Workloads", "integer", "Number of admitted workloads that haven't finished yet."),
        ],
        (o, _) => new PrintedRow([o.Name(), o.ObjOrNull("spec").Str("clusterQueue"), o.ObjOrNull("status").Long("pendingWorkloads"),
            o.ObjOrNull("status").Long("admittedWorkloads")]));

    private static string? Created(JsonObject o) => o.ObjOrNull("metadata").Str("creationTimestamp");
}
