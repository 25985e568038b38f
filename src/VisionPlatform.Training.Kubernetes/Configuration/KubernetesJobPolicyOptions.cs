namespace VisionPlatform.Training.Kubernetes;

/// <summary>Retries, deadlines and clean-up of each Job (<c>Training:Kubernetes:Job</c>).</summary>
public sealed class KubernetesJobPolicyOptions
{
    /// <summary>How many failed pods are retried before the Job fails (default 3).</summary>
    public int BackoffLimit { get; set; } = 3;

    /// <summary>How long a Job may run, counted from its start, before it fails with DeadlineExceeded (default 86400 s, one day).</summary>
    public long ActiveDeadlineSeconds { get; set; } = 86_400;

    /// <summary>How long a finished Job (and its pods and logs) is kept before Kubernetes deletes it (default 86400 s; null keeps it).</summary>
    public int? TtlSecondsAfterFinished { get; set; } = 86_400;

    /// <summary>
    /// Trainer exit codes that mean "bad input, retrying cannot help": the Job fails at once (podFailurePolicy FailJob)
    /// instead of retrying. When not set: <c>2</c>. A configured list replaces the default; each code is 1 to 255.
    /// </summary>
    public IList<int>? FailJobExitCodes { get; set; }

    /// <summary>Whether pod disruptions (preemption, node drain, eviction) are retried without counting against <see cref="BackoffLimit"/> (default true).</summary>
    public bool IgnoreDisruptions { get; set; } = true;

    /// <summary>How long a stopped trainer gets after SIGTERM before it is killed (pod terminationGracePeriodSeconds; default 30 s).</summary>
    public TimeSpan TerminationGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The TCP port on rank 0's pod where the torchrun agents of a distributed job meet (<c>PET_MASTER_PORT</c>, static
    /// rendezvous; default 29500, torch's own default and Kubeflow Trainer's). Every pod has its own network namespace on
    /// a real cluster, so one port serves every group.
    /// </summary>
    public int RendezvousPort { get; set; } = 29_500;

    /// <summary>
    /// The TCP port on rank 0's pod where the group supervisors of a distributed job of more than one node meet
    /// (<c>VP_GROUP_CONTROL_PORT</c>): a pod that is disrupted tells rank 0, which restarts the whole group. When not set:
    /// <see cref="RendezvousPort"/> + 1 (29501). 1024 to 65535, and not the rendezvous port.
    /// </summary>
    public int? GroupControlPort { get; set; }

    /// <summary>The group control port in effect: <see cref="GroupControlPort"/>, or <see cref="RendezvousPort"/> + 1.</summary>
    internal int EffectiveGroupControlPort => GroupControlPort ?? RendezvousPort + 1;

    /// <summary>The default exit codes.</summary>
    internal static IReadOnlyList<int> DefaultFailJobExitCodes { get; } = [2];

    /// <summary>The effective exit codes, ascending and distinct as the apiserver requires.</summary>
    internal IReadOnlyList<int> EffectiveFailJobExitCodes =>
        (FailJobExitCodes ?? DefaultFailJobExitCodes.ToList()).Distinct().Order().ToArray();
}
