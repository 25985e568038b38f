namespace VisionPlatform.Training.Kubernetes;

/// <summary>Facts about the Kubernetes executor package.</summary>
public static class KubernetesExecutorInfo
{
    /// <summary>The executor name runs on Kubernetes carry.</summary>
    public const string ExecutorName = "kubernetes";
}
