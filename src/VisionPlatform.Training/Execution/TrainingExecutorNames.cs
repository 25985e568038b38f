namespace VisionPlatform.Training;

/// <summary>The registered name of the core package's executor (other packages name theirs, for example <c>KubernetesExecutorInfo.ExecutorName</c>), as used in <c>Training:DefaultExecutor</c> and run handles.</summary>
public static class TrainingExecutorNames
{
    /// <summary>The local subprocess executor.</summary>
    public const string Subprocess = "subprocess";
}
