namespace VisionPlatform.Training.QuickStart.CommandLine;

/// <summary>What the user asked for: which executor, whether to run at all, how much to show, and the job.</summary>
internal sealed class QuickStartCommand
{
    public string Executor { get; init; } = TrainingExecutorNames.Subprocess;

    public bool DryRun { get; init; }

    /// <summary>Never fall back to another executor (<c>--no-fallback</c>).</summary>
    public bool NoFallback { get; init; }

    /// <summary>Show the SDK's log on stderr (<c>--verbose</c>); otherwise only the sample's own lines.</summary>
    public bool Verbose { get; init; }

    /// <summary>Print the cluster set-up as YAML and exit (<c>--print-cluster-setup</c>).</summary>
    public bool PrintClusterSetup { get; init; }

    /// <summary>Where runs go (<c>Training:Subprocess:RunsDirectory</c>); null keeps the configured or default one.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>The Kueue LocalQueue (<c>--queue</c>): <c>Training:Kubernetes:Kueue:QueueName</c> for this run.</summary>
    public string? Queue { get; init; }

    /// <summary>The Kueue WorkloadPriorityClass (<c>--priority-class</c>): <c>Training:Kubernetes:Kueue:WorkloadPriorityClass</c>.</summary>
    public string? PriorityClass { get; init; }

    /// <summary>The pods' PriorityClass (<c>--pod-priority-class</c>): <c>Training:Kubernetes:PriorityClassName</c>.</summary>
    public string? PodPriorityClass { get; init; }

    public required TrainingJobConfigBuilder Job { get; init; }
}
