namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// How the executor reaches the API server (<c>Training:Kubernetes:Connection</c>). Resolution order: <see cref="Host"/>,
/// then <see cref="KubeConfigPath"/>, then the in-cluster service account, then <c>KUBECONFIG</c>, then
/// <c>~/.kube/config</c>. When none works the executor reports itself unavailable with the reason; it never falls back
/// to <c>http://localhost:8080</c>.
/// </summary>
public sealed class KubernetesConnectionOptions
{
    /// <summary>The API server URL (for example <c>https://10.0.0.1:6443</c>); with it, only <see cref="AccessToken"/> and TLS settings apply.</summary>
    public string? Host { get; set; }

    /// <summary>A bearer token for <see cref="Host"/>. Never logged.</summary>
    public string? AccessToken { get; set; }

    /// <summary>Skip TLS verification for <see cref="Host"/> (test clusters only).</summary>
    public bool SkipTlsVerify { get; set; }

    /// <summary>A kubeconfig file to use instead of the in-cluster account, <c>KUBECONFIG</c> and <c>~/.kube/config</c>.</summary>
    public string? KubeConfigPath { get; set; }

    /// <summary>The kubeconfig context to use (default: the file's current context).</summary>
    public string? Context { get; set; }

    /// <summary>How long one API call may take before it is abandoned (default 30 seconds; watches and log streams are exempt).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long <c>CheckAvailabilityAsync</c> waits for <c>/version</c> (default 5 seconds).</summary>
    public TimeSpan AvailabilityTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries with backoff and a per-attempt timeout for every API call (<c>Training:Kubernetes:Connection:Resilience</c>; see docs/resilience.md).</summary>
    public KubernetesResilienceOptions Resilience { get; set; } = new();

    /// <summary>Names the settings without the token.</summary>
    public override string ToString() =>
        $"KubernetesConnectionOptions {{ Host = {Host}, AccessToken = {(AccessToken is null ? "(unset)" : "(redacted)")}, KubeConfigPath = {KubeConfigPath}, Context = {Context} }}";
}
