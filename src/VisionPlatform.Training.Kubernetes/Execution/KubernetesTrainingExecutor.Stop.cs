using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>Stop: the stop is recorded on the Job (one merge patch) and the Job ends; the Job itself stays until its TTL.</summary>
public sealed partial class KubernetesTrainingExecutor
{
    /// <summary>
    /// Stops a pending or running run and keeps it findable: one PATCH of the Job (merge patch, with the uid and
    /// resourceVersion read just before as preconditions) records the stop (<see cref="KubernetesLabels.StopRequestedAnnotation"/>,
    /// <see cref="KubernetesLabels.StopReasonAnnotation"/>) and sets <c>spec.activeDeadlineSeconds</c> to 0, so the Job
    /// controller fails the Job (DeadlineExceeded) and deletes its active pods with their own grace period. The Job stays
    /// until its <c>ttlSecondsAfterFinished</c>: every host reports the run <see cref="TrainingPhase.Stopped"/> until then,
    /// and a start with the same job id and config returns it. A run that already finished keeps its outcome.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="options">
    /// <see cref="TrainingStopOptions.GracePeriod"/>: the pods' grace period comes from the Job's template
    /// (<c>Job:TerminationGracePeriod</c>), which cannot change on a running Job. A shorter one is applied by also deleting
    /// the pods with it (needs <c>deletecollection</c> on pods, which the least-privilege Role does not grant: then a
    /// warning is logged and the template's applies); a longer one cannot be granted.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The run's status after the stop (Stopped, or the outcome of a run that had already finished).</returns>
    public async Task<TrainingRunStatus> StopAsync(TrainingRun run, TrainingStopOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (!TryLocate(run, out var ns, out var name))
        {
            return NotFound(run);
        }

        var client = _connection.GetClient();
        for (var attempt = 1; ; attempt++)
        {
            var job = await TryReadJobAsync(client, ns, name, run.JobId, cancellationToken).ConfigureAwait(false);
            if (job is null || !BelongsTo(job, run.JobId))
            {
                return NotFound(run, ns, name);
            }

            if (KubernetesStatusMapper.IsOver(job))
            {
                // Stopped before (stop is idempotent), being deleted, or finished: a finished run keeps its outcome (and its
                // Job, until the TTL) instead of turning into "Stopped".
                if (!KubernetesStatusMapper.IsStopRequested(job))
                {
                    Log.StopOfFinishedJob(_logger, ns, name, run.JobId);
                }

                return await StatusOfAsync(client, run, job, cancellationToken).ConfigureAwait(false);
            }

            V1Job stopped;
            try
            {
                stopped = await client.BatchV1.PatchNamespacedJobAsync(StopPatch(job), name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.Conflict) && attempt < MaxStopAttempts)
            {
                continue; // The Job changed (its status, or it was replaced) since it was read: read it again.
            }
            catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
            {
                return NotFound(run, ns, name);
            }
            catch (HttpOperationException ex)
            {
                throw KubernetesErrors.Translate(ex, "patch", JobsResource, ns, run.JobId);
            }
            catch (HttpRequestException ex)
            {
                throw KubernetesErrors.Unreachable(ex, _connection.Source, "patch", JobsResource, run.JobId);
            }

            Log.JobStopped(_logger, ns, name, run.JobId);
            Monitor?.Observe(stopped);
            if (options?.GracePeriod is { } grace && grace < TimeSpan.FromSeconds(stopped.Spec?.Template?.Spec?.TerminationGracePeriodSeconds ?? 30))
            {
                await DeletePodsAsync(client, stopped, (long)Math.Ceiling(grace.TotalSeconds), cancellationToken).ConfigureAwait(false);
            }

            return await StatusOfAsync(client, run, stopped, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The merge patch of a stop: preconditions (uid, resourceVersion), the stop's time and reason, and a deadline of 0.</summary>
    private V1Patch StopPatch(V1Job job)
    {
        var at = _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var patch = new System.Text.Json.Nodes.JsonObject
        {
            ["metadata"] = new System.Text.Json.Nodes.JsonObject
            {
                ["uid"] = job.Metadata.Uid,
                ["resourceVersion"] = job.Metadata.ResourceVersion,
                ["annotations"] = new System.Text.Json.Nodes.JsonObject
                {
                    [KubernetesLabels.StopRequestedAnnotation] = at,
                    [KubernetesLabels.StopReasonAnnotation] = TrainingStatusReasons.StoppedByUser,
                },
            },
            ["spec"] = new System.Text.Json.Nodes.JsonObject { ["activeDeadlineSeconds"] = 0 },
        };
        return new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch);
    }

    private async Task DeletePodsAsync(IKubernetes client, V1Job job, long graceSeconds, CancellationToken cancellationToken)
    {
        var ns = job.Metadata.NamespaceProperty ?? Options.Namespace;
        try
        {
            var pods = await ListPodsAsync(client, job, job.Metadata.Name, cancellationToken).ConfigureAwait(false);
            await PodDeletion.DeleteAsync(client, ns, pods, graceSeconds, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpOperationException or TrainingException)
        {
            // Needs 'delete pods'; without it the garbage collector still removes them with their own grace period.
            Log.PodGraceDeleteFailed(_logger, ns, job.Metadata.Name, graceSeconds, (ex as HttpOperationException) is { } http ? KubernetesErrors.ReadStatus(http)?.Message ?? http.Message : ex.Message);
        }
    }
}
