using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>Start: one create call; a repeat with the same job id and config returns the existing run (the job-id rule).</summary>
public sealed partial class KubernetesTrainingExecutor
{
    /// <inheritdoc />
    public Task<TrainingRun> StartAsync(TrainingJobConfig config, CancellationToken cancellationToken = default) =>
        StartAsync(config, jobOptions: null, cancellationToken);

    /// <summary>Starts a run with per-job Kubernetes settings (a custom image).</summary>
    /// <param name="config">The validated job.</param>
    /// <param name="jobOptions">Per-job settings; <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">Cancels the call (not the run).</param>
    /// <returns>The run's handle; its resource id is <c>namespace/job-name</c>.</returns>
    /// <exception cref="TrainingValidationException">The Job would be rejected; nothing was sent.</exception>
    /// <exception cref="TrainingException">A Job with this job id exists with a different config (<see cref="TrainingErrorCode.JobConflict"/>), or the API failed.</exception>
    public async Task<TrainingRun> StartAsync(TrainingJobConfig config, KubernetesJobOptions? jobOptions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        var job = _builder.Build(config, jobOptions);
        var ns = job.Metadata.NamespaceProperty;
        var name = job.Metadata.Name;
        var run = new TrainingRun(Name, config.JobId, $"{ns}/{name}");
        var client = _connection.GetClient();

        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var created = await client.BatchV1.CreateNamespacedJobAsync(job, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
                Monitor?.ObserveCreated(created);
                Log.JobCreated(_logger, ns, name, config.JobId);
                return run;
            }
            catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.Conflict))
            {
                var existing = await TryReadJobAsync(client, ns, name, config.JobId, cancellationToken).ConfigureAwait(false);
                if (existing is null && attempt == 0)
                {
                    continue; // Deleted between our create and read: create again, once.
                }

                EnsureSameRun(existing, config, job.Metadata.Annotations[KubernetesLabels.ConfigHashAnnotation], ns, name);
                Monitor?.Observe(existing!);
                Log.JobAlreadyExists(_logger, ns, name, config.JobId);
                return run;
            }
            catch (HttpOperationException ex)
            {
                throw KubernetesErrors.Translate(ex, "create", JobsResource, ns, config.JobId, isWrite: true);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                throw KubernetesErrors.WriteFailed(ex, _connection.Source, "create", JobsResource, config.JobId);
            }
        }
    }

    private void EnsureSameRun(V1Job? existing, TrainingJobConfig config, string expectedHash, string ns, string name)
    {
        var annotations = existing?.Metadata?.Annotations ?? new Dictionary<string, string>();
        annotations.TryGetValue(KubernetesLabels.JobIdAnnotation, out var existingId);
        annotations.TryGetValue(KubernetesLabels.ConfigHashAnnotation, out var existingHash);
        if (existing is null || existingId != config.JobId)
        {
            throw new TrainingException(TrainingErrorCode.JobConflict,
                $"Job {ns}/{name} already exists but was not created for job id '{config.JobId}' (it belongs to '{existingId ?? "unknown"}'); use another job id or delete that Job.")
            {
                ExecutorName = Name,
                JobId = config.JobId,
            };
        }

        if (existingHash != expectedHash)
        {
            throw new TrainingException(TrainingErrorCode.JobConflict,
                $"A run for job id '{config.JobId}' already exists (Job {ns}/{name}) with a different configuration or image (config hash {existingHash} vs {expectedHash}). Use a new job id to run a changed job.")
            {
                ExecutorName = Name,
                JobId = config.JobId,
            };
        }
    }
}
