namespace VisionPlatform.Training.QuickStart.CommandLine;

/// <summary>What the user asked for: which executor, whether to run at all, and the job.</summary>
internal sealed class QuickStartCommand
{
    public string Executor { get; set; } = TrainingExecutorNames.Subprocess;

    public bool DryRun { get; set; }

    /// <summary>Never fall back to another executor (<c>--no-fallback</c>).</summary>
    public bool NoFallback { get; set; }

    public bool Help { get; set; }

    /// <summary>Print the cluster set-up as YAML and exit (<c>--print-cluster-setup</c>).</summary>
    public bool PrintClusterSetup { get; set; }

    /// <summary>Where runs go (<c>Training:Subprocess:RunsDirectory</c>); null keeps the configured or default one.</summary>
    public string? OutputDirectory { get; set; }

    public required TrainingJobConfigBuilder Job { get; init; }
}
