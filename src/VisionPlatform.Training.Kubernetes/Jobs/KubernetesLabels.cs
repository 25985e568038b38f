namespace VisionPlatform.Training.Kubernetes;

/// <summary>The label and annotation keys the Kubernetes executor puts on every Job and pod it creates.</summary>
public static class KubernetesLabels
{
    /// <summary>The prefix of the SDK's annotation keys.</summary>
    public const string AnnotationPrefix = "training.visionplatform.io/";

    /// <summary><c>app.kubernetes.io/name</c>: the application (value <see cref="AppName"/>).</summary>
    public const string Name = "app.kubernetes.io/name";

    /// <summary><c>app.kubernetes.io/managed-by</c>: the SDK; used to list the runs it manages.</summary>
    public const string ManagedBy = "app.kubernetes.io/managed-by";

    /// <summary><c>app</c>: <c>training-job</c>, as the platform's Python code set it.</summary>
    public const string App = "app";

    /// <summary><c>job-id</c>: the job id as a label value (sanitised when needed; the exact id is in <see cref="JobIdAnnotation"/>).</summary>
    public const string JobId = "job-id";

    /// <summary><c>framework</c>: the training framework.</summary>
    public const string Framework = "framework";

    /// <summary><c>project-id</c>: the project id as a label value, when the job has one.</summary>
    public const string ProjectId = "project-id";

    /// <summary><c>job-type</c>: <c>training</c>, <c>evaluation</c>, <c>inference</c> or <c>export</c>.</summary>
    public const string JobType = "job-type";

    /// <summary>The value of <see cref="Name"/>.</summary>
    public const string AppName = "visionplatform-training";

    /// <summary>The value of <see cref="ManagedBy"/>.</summary>
    public const string ManagedByValue = "visionplatform-training-sdk";

    /// <summary>The value of <see cref="App"/>.</summary>
    public const string AppValue = "training-job";

    /// <summary>The exact job id (label values cannot hold every id).</summary>
    public const string JobIdAnnotation = AnnotationPrefix + "job-id";

    /// <summary>
    /// The job config's <see cref="TrainingJobConfig.ConfigHash"/>, combined with the per-job image when
    /// <see cref="KubernetesJobOptions.Image"/> is set, to tell a repeated start from a conflicting one.
    /// </summary>
    public const string ConfigHashAnnotation = AnnotationPrefix + "config-hash";

    /// <summary>
    /// The exact project id, when the job has one. The <see cref="ProjectId"/> label selects (its value is hashed when the
    /// id is not a valid label value, so two projects may share it); listings by project compare this annotation.
    /// </summary>
    public const string ProjectIdAnnotation = AnnotationPrefix + "project-id";

    /// <summary>
    /// When the run was stopped (RFC 3339, UTC). <c>StopAsync</c> sets it in the same write that ends the Job (its
    /// <c>activeDeadlineSeconds</c> is set to 0), so every host reports the run as Stopped, not Failed, until the Job's TTL.
    /// </summary>
    public const string StopRequestedAnnotation = AnnotationPrefix + "stop-requested-at";

    /// <summary>Why the run was stopped (<see cref="TrainingStatusReasons.StoppedByUser"/>), set with <see cref="StopRequestedAnnotation"/>.</summary>
    public const string StopReasonAnnotation = AnnotationPrefix + "stop-reason";

    /// <summary>
    /// Kueue's LocalQueue label, set on the Job (not on its pods) when the run is queued
    /// (<see cref="KubernetesJobOptions.QueueName"/>, <c>Training:Kubernetes:Kueue:QueueName</c>).
    /// </summary>
    public const string KueueQueueName = "kueue.x-k8s.io/queue-name";

    /// <summary>Kueue's WorkloadPriorityClass label, set on a queued Job (<see cref="KubernetesJobOptions.WorkloadPriorityClass"/>).</summary>
    public const string KueuePriorityClass = "kueue.x-k8s.io/priority-class";

    /// <summary>The label Kueue puts on a Job's Workload: the Job's uid (how a direct status read finds the Workload).</summary>
    public const string KueueJobUid = "kueue.x-k8s.io/job-uid";

    /// <summary>When the monitor finished archiving the run's log and set the Job's TTL (RFC 3339); present once, never removed.</summary>
    public const string LogsArchivedAnnotation = AnnotationPrefix + "logs-archived-at";

    /// <summary>The label keys the executor sets itself; a job's own labels may not use them.</summary>
    public static IReadOnlySet<string> Reserved { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        Name, ManagedBy, App, JobId, Framework, ProjectId, JobType,
        "job-name", "controller-uid", "batch.kubernetes.io/job-name", "batch.kubernetes.io/controller-uid",
        "batch.kubernetes.io/job-completion-index",
    };
}
