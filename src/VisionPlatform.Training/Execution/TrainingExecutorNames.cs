namespace VisionPlatform.Training;

/// <summary>The registered names of the SDK's executors, as used in <c>Training:DefaultExecutor</c> and run handles.</summary>
public static class TrainingExecutorNames
{
    /// <summary>The local subprocess executor.</summary>
    public const string Subprocess = "subprocess";

    /// <summary>The Kubernetes executor (package VisionPlatform.Training.Kubernetes).</summary>
    public const string Kubernetes = "kubernetes";
}
