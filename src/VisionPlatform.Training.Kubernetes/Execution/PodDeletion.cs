using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Deletes a stopped run's pods with a shorter grace period, one by one with a UID precondition: a pod is deleted only
/// while it is still the pod that was listed as the run's (never one of the same name created since), and never by a
/// label selector alone (<c>deletecollection</c> deletes whatever matches at the time it runs).
/// </summary>
internal static class PodDeletion
{
    /// <summary>Deletes each pod with <c>preconditions.uid</c>; gone (404) or replaced (409) pods are skipped.</summary>
    /// <exception cref="HttpOperationException">Any other refusal (for example 403 without <c>delete</c> on pods), at the first pod.</exception>
    public static async Task DeleteAsync(IKubernetes client, string ns, IEnumerable<V1Pod> pods, long graceSeconds, CancellationToken cancellationToken)
    {
        foreach (var pod in pods)
        {
            if (pod.Metadata?.Name is not { } name || pod.Metadata.Uid is not { Length: > 0 } uid)
            {
                continue;
            }

            var body = new V1DeleteOptions
            {
                GracePeriodSeconds = Math.Min(graceSeconds, int.MaxValue),
                Preconditions = new V1Preconditions { Uid = uid },
            };
            try
            {
                await client.CoreV1.DeleteNamespacedPodAsync(name, ns, body, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound) || KubernetesErrors.Is(ex, HttpStatusCode.Conflict))
            {
                // Gone already, or the name now belongs to another pod: nothing of this run to delete.
            }
        }
    }
}
