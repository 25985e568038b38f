using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The SDK's Kueue calls: a run's Workload (direct reads), the queue positions of a LocalQueue (visibility API, one call
/// per queue), and the enforcement of a spent preemption budget. Reads are optional: a 403 or 404 (no RBAC, Kueue or its
/// visibility API not installed) answers "unknown", never an error.
/// </summary>
internal static class KueueClient
{
    /// <summary>The Workload of a Job (by the <c>kueue.x-k8s.io/job-uid</c> label Kueue sets), or null when none can be read.</summary>
    public static async Task<CachedWorkload?> TryReadWorkloadAsync(IKubernetes client, string ns, string jobUid, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<KueueWorkloadList>(
                KueueApi.Group, KueueApi.Version, ns, KueueApi.WorkloadsPlural, labelSelector: $"{KubernetesLabels.KueueJobUid}={jobUid}",
                cancellationToken: cancellationToken).ConfigureAwait(false);
            return (response.Body?.Items ?? []).Select(CachedWorkload.From).FirstOrDefault(w => w is not null && string.Equals(w.JobUid, jobUid, StringComparison.OrdinalIgnoreCase));
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// The positions (1: next to be admitted) of a LocalQueue's pending workloads, by the uid of the Job that owns each;
    /// v1beta2 first, v1beta1 on 404. Null when the visibility API cannot be read (403, 404 on both versions).
    /// </summary>
    /// <exception cref="HttpOperationException">Any other API error (the caller retries on its next refresh).</exception>
    public static async Task<Dictionary<string, int>?> TryReadPositionsAsync(IKubernetes client, string ns, string queue, Action<string> unavailable, CancellationToken cancellationToken)
    {
        string? reason = null;
        foreach (var version in KueueApi.VisibilityVersions)
        {
            try
            {
                using var response = await client.CustomObjects.GetNamespacedCustomObjectWithHttpMessagesAsync<KueuePendingWorkloadsSummary>(
                    KueueApi.VisibilityGroup, version, ns, KueueApi.LocalQueuesPlural, $"{queue}/pendingworkloads", cancellationToken: cancellationToken).ConfigureAwait(false);
                var positions = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
                foreach (var item in response.Body?.Items ?? [])
                {
                    var owner = item.Metadata?.OwnerReferences?.FirstOrDefault(o => o.Kind == "Job");
                    if (owner?.Uid is { } uid && (item.PositionInLocalQueue ?? item.PositionInClusterQueue) is { } position)
                    {
                        positions[uid] = position + 1;
                    }
                }

                return positions;
            }
            catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
            {
                reason = $"404 from {KueueApi.VisibilityGroup}/{string.Join(" and ", KueueApi.VisibilityVersions)}";
            }
            catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.Forbidden))
            {
                unavailable($"403 Forbidden: {KubernetesErrors.ReadStatus(ex)?.Message ?? ex.Message}");
                return null;
            }
        }

        unavailable(reason ?? "not served");
        return null;
    }

    /// <summary>
    /// Enforces a spent preemption budget: the Workload is deactivated (merge patch <c>spec.active=false</c>, so Kueue never
    /// admits it again) and the outcome is recorded on the Job in the stop's own merge patch (the stop annotations with
    /// reason <see cref="TrainingStatusReasons.PreemptionBudgetExhausted"/> and <c>activeDeadlineSeconds: 0</c>, preconditioned
    /// on the Job's uid), so every host reports the same Failed status until the Job's TTL.
    /// </summary>
    /// <returns>The Job as written, or null when the Job is gone or changed hands.</returns>
    public static async Task<k8s.Models.V1Job?> EnforceBudgetAsync(IKubernetes client, string ns, string jobName, Guid jobUid, string workloadName, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var deactivate = new k8s.Models.V1Patch("{\"spec\":{\"active\":false}}", k8s.Models.V1Patch.PatchType.MergePatch);
        try
        {
            await client.CustomObjects.PatchNamespacedCustomObjectAsync(deactivate, KueueApi.Group, KueueApi.Version, ns, KueueApi.WorkloadsPlural, workloadName, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
        {
            // The Workload is gone (the Job too, or Kueue re-creates it): the Job's record below still ends the run.
        }

        var at = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var record = new System.Text.Json.Nodes.JsonObject
        {
            ["metadata"] = new System.Text.Json.Nodes.JsonObject
            {
                ["uid"] = jobUid.ToString(),
                ["annotations"] = new System.Text.Json.Nodes.JsonObject
                {
                    [KubernetesLabels.StopRequestedAnnotation] = at,
                    [KubernetesLabels.StopReasonAnnotation] = TrainingStatusReasons.PreemptionBudgetExhausted,
                },
            },
            ["spec"] = new System.Text.Json.Nodes.JsonObject { ["activeDeadlineSeconds"] = 0 },
        };
        try
        {
            return await client.BatchV1.PatchNamespacedJobAsync(new k8s.Models.V1Patch(record.ToJsonString(), k8s.Models.V1Patch.PatchType.MergePatch), jobName, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound) || KubernetesErrors.Is(ex, HttpStatusCode.Conflict) || KubernetesErrors.Is(ex, HttpStatusCode.UnprocessableEntity))
        {
            // Gone, or a Job of that name that is another run now (the uid precondition: "metadata.uid: field is immutable").
            return null;
        }
    }
}
