namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// How the executor reaches the API server (<c>Training:Kubernetes:Connection</c>). Resolution order, as kubectl:
/// <see cref="Host"/>, then <see cref="KubeConfigPath"/> (that file only), then the files of <c>KUBECONFIG</c> merged
/// (the first file wins per cluster, user and context name, and for current-context), then <c>~/.kube/config</c>, then
/// the in-cluster service account. When none works the executor reports itself unavailable with the reason, naming what
/// it looked at; it never falls back to <c>http://localhost:8080</c>. A host can pass its own client instead
/// (<c>AddKubernetes</c> with a client factory); then these options do not apply.
/// </summary>
public sealed class KubernetesConnectionOptions
{
    /// <summary>The API server URL (for example <c>https://10.0.0.1:6443</c>); with it, only <see cref="AccessToken"/> and TLS settings apply.</summary>
    public string? Host { get; set; }

    /// <summary>A bearer token for <see cref="Host"/>. Never logged.</summary>
    public string? AccessToken { get; set; }

    /// <summary>Skip TLS verification for <see cref="Host"/> (test clusters only).</summary>
    public bool SkipTlsVerify { get; set; }

    /// <summary>A kubeconfig file to use (alone, like <c>kubectl --kubeconfig</c>) instead of <c>KUBECONFIG</c>, <c>~/.kube/config</c> and the in-cluster account.</summary>
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
