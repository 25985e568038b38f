namespace VisionPlatform.Training;

/// <summary>
/// Machine-readable values of <see cref="TrainingRunStatus.Reason"/>. Executors use these where they apply;
/// Kubernetes reasons (for example <c>BackoffLimitExceeded</c>) keep the API's spelling.
/// </summary>
public static class TrainingStatusReasons
{
    /// <summary>Waiting for a free slot (the executor's concurrency limit is reached).</summary>
    public const string WaitingForSlot = "WaitingForSlot";

    /// <summary>Waiting for enough free GPUs.</summary>
    public const string WaitingForGpu = "WaitingForGpu";

    /// <summary>Being started.</summary>
    public const string Starting = "Starting";

    /// <summary>The trainer is running.</summary>
    public const string Running = "Running";

    /// <summary>The trainer exited with code 0.</summary>
    public const string Completed = "Completed";

    /// <summary>The trainer exited with a non-zero code.</summary>
    public const string NonZeroExitCode = "NonZeroExitCode";

    /// <summary>The trainer rejected its input (exit code 2 in the trainer contract), on either executor.</summary>
    public const string InvalidTrainerInput = "InvalidTrainerInput";

    /// <summary>The trainer was killed by a signal it did not handle.</summary>
    public const string Signaled = "Signaled";

    /// <summary>Stopped on request.</summary>
    public const string StoppedByUser = "StoppedByUser";

    /// <summary>The process ended while no host watched it, so its exit code is unknown.</summary>
    public const string ExitNotObserved = "ExitNotObserved";

    /// <summary>The run's state could not be read or the trainer could not be launched.</summary>
    public const string LaunchFailed = "LaunchFailed";

    /// <summary>The executor knows no such run.</summary>
    public const string NotFound = "NotFound";

    /// <summary>No node can run the pod (Kubernetes scheduler).</summary>
    public const string Unschedulable = "Unschedulable";

    /// <summary>The container image cannot be pulled.</summary>
    public const string ImagePullBackOff = "ImagePullBackOff";

    /// <summary>The container image pull failed.</summary>
    public const string ErrImagePull = "ErrImagePull";

    /// <summary>The container is being created.</summary>
    public const string ContainerCreating = "ContainerCreating";

    /// <summary>The Job is suspended or queued.</summary>
    public const string Suspended = "Suspended";

    /// <summary>The Job failed more times than its backoff limit allows.</summary>
    public const string BackoffLimitExceeded = "BackoffLimitExceeded";

    /// <summary>The Job ran longer than its active deadline.</summary>
    public const string DeadlineExceeded = "DeadlineExceeded";

    /// <summary>A pod failure policy rule failed the Job (for an exit code other than 2, which is <see cref="InvalidTrainerInput"/>).</summary>
    public const string PodFailurePolicy = "PodFailurePolicy";

    /// <summary>The container was killed for exceeding its memory limit.</summary>
    public const string OomKilled = "OOMKilled";

    /// <summary>
    /// The cluster refuses to create the run's pod (a quota is exceeded, Pod Security or a LimitRange forbids it, its
    /// ServiceAccount is missing): the status message carries the API server's message. Pending while the Job controller
    /// retries; Failed once the refusal lasts longer than the executor allows.
    /// </summary>
    public const string FailedCreate = "FailedCreate";

    /// <summary>
    /// The run waits in a queue (Kueue) for quota: its Job is suspended and was never admitted. The message is the
    /// queue's reason (for example the ClusterQueue's "insufficient quota" message) and, when known, the run's position.
    /// </summary>
    public const string Queued = "Queued";

    /// <summary>
    /// The run was admitted, then preempted (a higher-priority or reclaiming workload took its quota) and waits to be
    /// admitted again: Pending. Not a failure; the executor counts preemptions separately.
    /// </summary>
    public const string Preempted = "Preempted";

    /// <summary>The run was admitted, then evicted for another reason than preemption (for example a pods-ready timeout) and waits to be admitted again: Pending.</summary>
    public const string Evicted = "Evicted";

    /// <summary>
    /// A pod of a distributed run's group of more than one node was disrupted (evicted, drained, preempted), so the whole
    /// group restarts: every pod is replaced and the new group resumes from the run's newest checkpoint. Pending; not a
    /// failure (the Kubernetes executor's failure budget is not used). The message names the disrupted pod when known.
    /// </summary>
    public const string GroupRestarting = "GroupRestarting";

    /// <summary>The run was preempted more often than the executor allows (a Failed run; it is not admitted again).</summary>
    public const string PreemptionBudgetExhausted = "PreemptionBudgetExhausted";
}
