namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>Label, annotation and finalizer names the Job controller and the garbage collector use.</summary>
internal static class JobLabels
{
    public const string ControllerUid = "batch.kubernetes.io/controller-uid";
    public const string JobName = "batch.kubernetes.io/job-name";
    public const string LegacyControllerUid = "controller-uid";
    public const string LegacyJobName = "job-name";
    public const string CompletionIndex = "batch.kubernetes.io/job-completion-index";
    public const string IndexFailureCount = "batch.kubernetes.io/job-index-failure-count";
    public const string IndexIgnoredFailureCount = "batch.kubernetes.io/job-index-ignored-failure-count";
    public const string TrackingFinalizer = "batch.kubernetes.io/job-tracking";
    public const string ForegroundDeletionFinalizer = "foregroundDeletion";
    public const string OrphanFinalizer = "orphan";
}
