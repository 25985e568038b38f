namespace VisionPlatform.Training.Kubernetes.TestCluster;

/// <summary>The components a cluster runs unless the options say otherwise.</summary>
public static class DefaultClusterComponents
{
    /// <summary>A fresh list of the default component factories.</summary>
    public static IList<Func<IClusterComponent>> Create() =>
    [
        () => new Controllers.ServiceAccountsController(),
        () => new Controllers.ResourceQuotaController(),
        () => new Controllers.EventsMirror(),
        () => new Controllers.JobController(),
        () => new Kueue.KueueController(),
        () => new Controllers.GarbageCollector(),
        () => new Controllers.EndpointSliceController(),
        () => new Controllers.TtlAfterFinishedController(),
        () => new Scheduling.Scheduler(),
        () => new Nodes.NodeAgent(),
    ];
}
