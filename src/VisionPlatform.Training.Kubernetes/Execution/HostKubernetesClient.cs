using k8s;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The <see cref="IKubernetes"/> a host registered with <c>AddKubernetes(..., clientFactory)</c>, created once per service
/// provider: the executor, the run monitor and the cluster set-up all talk through it, and the host keeps owning it. The
/// SDK adds nothing to it (no handler, no credentials): the connection options and <c>Connection:Resilience</c> do not apply.
/// </summary>
internal sealed class HostKubernetesClient(IKubernetes client)
{
    public const string Source = "the IKubernetes client the host registered (AddKubernetes clientFactory)";

    public IKubernetes Client { get; } = client ?? throw new InvalidOperationException("The clientFactory passed to AddKubernetes returned null.");

    /// <summary>A connection over the host's client that never disposes it.</summary>
    public KubernetesConnection Connect() => new(Client, Source);
}
