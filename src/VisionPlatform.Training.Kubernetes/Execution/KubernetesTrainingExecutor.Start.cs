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
        if (Monitor?.Archives == true && job.Spec.TtlSecondsAfterFinished is { } ttl)
        {
            // The TTL controller must not delete the Job before its log is archived: a long backstop now; the monitor sets
            // Job:TtlSecondsAfterFinished once the finished run's log is archived (docs/kubernetes.md, "Logs that outlive pods").
            job.Spec.TtlSecondsAfterFinished = Math.Max(ttl, (int)Options.Logs.BackstopTtl.TotalSeconds);
        }
        var ns = job.Metadata.NamespaceProperty;
        var name = job.Metadata.Name;
        var run = new TrainingRun(Name, config.JobId, $"{ns}/{name}");
        var configMap = _builder.BuildConfigMap(config, job);
        var service = TrainingJobSpecBuilder.BuildService(config, job);
        var client = _connection.GetClient();

        // A config too large for one argument travels in a ConfigMap: created (or reused) first, so the pod finds it;
        // deleted again when the Job is not created; owned by the Job once it exists, so it is deleted with the Job.
        var createdConfigMap = configMap is not null && await EnsureConfigMapAsync(client, configMap, config.JobId, cancellationToken).ConfigureAwait(false);
        V1Job owner;
        bool createdJob;
        try
        {
            (owner, createdJob) = await CreateJobAsync(client, job, config, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (createdConfigMap)
        {
            await DeleteConfigMapQuietlyAsync(client, configMap!).ConfigureAwait(false);
            throw;
        }

        if (configMap is not null)
        {
            await AdoptConfigMapAsync(client, configMap, owner, config.JobId, cancellationToken).ConfigureAwait(false);
        }

        if (service is not null)
        {
            await CreateGroupServiceAsync(client, service, owner, createdJob, config.JobId, cancellationToken).ConfigureAwait(false);
        }

        return run;
    }

    /// <summary>
    /// Creates a distributed job's headless Service right after its Job, owned by the Job (so the garbage collector deletes
    /// it with the Job). A Service left from an earlier Job of the same name (not owned by this one) is replaced. When the
    /// Service cannot be created, the Job this start created is deleted again: a group without its Service would wait for
    /// rank 0's name until the rendezvous times out.
    /// </summary>
    private async Task CreateGroupServiceAsync(IKubernetes client, V1Service service, V1Job owner, bool createdJob, string jobId, CancellationToken cancellationToken)
    {
        var ns = service.Metadata.NamespaceProperty;
        var name = service.Metadata.Name;
        service.Metadata.OwnerReferences =
        [
            new V1OwnerReference { ApiVersion = "batch/v1", Kind = "Job", Name = owner.Metadata.Name, Uid = owner.Metadata.Uid, BlockOwnerDeletion = true },
        ];
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await client.CoreV1.CreateNamespacedServiceAsync(service, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
                    Log.ServiceCreated(_logger, ns, name, jobId);
                    return;
                }
                catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.Conflict) && attempt == 0)
                {
                    var existing = await ReadServiceAsync(client, ns, name, jobId, cancellationToken).ConfigureAwait(false);
                    if (existing?.Metadata?.OwnerReferences?.Any(o => o.Uid == owner.Metadata.Uid) == true)
                    {
                        return; // A repeated start: this Job's Service exists.
                    }

                    if (existing is not null)
                    {
                        await DeleteServiceAsync(client, existing, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (HttpOperationException ex)
        {
            await TakeBackJobAsync(client, owner, createdJob).ConfigureAwait(false);
            throw KubernetesErrors.Translate(ex, "create", ServicesResource, ns, jobId, isWrite: true);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            await TakeBackJobAsync(client, owner, createdJob).ConfigureAwait(false);
            throw KubernetesErrors.WriteFailed(ex, _connection.Source, "create", ServicesResource, jobId);
        }
        catch (Exception) when (createdJob)
        {
            await TakeBackJobAsync(client, owner, createdJob).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<V1Service?> ReadServiceAsync(IKubernetes client, string ns, string name, string jobId, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedServiceAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
        {
            return null;
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesErrors.Translate(ex, "get", ServicesResource, ns, jobId);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw KubernetesErrors.Unreachable(ex, _connection.Source, "get", ServicesResource, jobId);
        }
    }

    private static async Task DeleteServiceAsync(IKubernetes client, V1Service existing, CancellationToken cancellationToken)
    {
        try
        {
            // Only the one read (UID precondition): never a Service another start created meanwhile.
            var options = new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = existing.Metadata.Uid } };
            await client.CoreV1.DeleteNamespacedServiceAsync(existing.Metadata.Name, existing.Metadata.NamespaceProperty, options, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound) || KubernetesErrors.Is(ex, HttpStatusCode.Conflict))
        {
            // Gone already, or replaced meanwhile: the create that follows decides.
        }
    }

    /// <summary>Best effort: deletes the Job this start created (its pods and ConfigMap go with it).</summary>
    private async Task TakeBackJobAsync(IKubernetes client, V1Job job, bool createdJob)
    {
        if (!createdJob)
        {
            return;
        }

        var ns = job.Metadata.NamespaceProperty;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), _time);
            var options = new V1DeleteOptions { PropagationPolicy = "Background", Preconditions = new V1Preconditions { Uid = job.Metadata.Uid } };
            await client.BatchV1.DeleteNamespacedJobAsync(job.Metadata.Name, ns, options, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException or OperationCanceledException)
        {
            Log.GroupJobLeft(_logger, ns, job.Metadata.Name, ex.Message);
        }
    }

    private async Task<(V1Job Job, bool Created)> CreateJobAsync(IKubernetes client, V1Job job, TrainingJobConfig config, CancellationToken cancellationToken)
    {
        var ns = job.Metadata.NamespaceProperty;
        var name = job.Metadata.Name;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var created = await client.BatchV1.CreateNamespacedJobAsync(job, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
                Monitor?.ObserveCreated(created);
                Log.JobCreated(_logger, ns, name, config.JobId);
                return (created, true);
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
                return (existing!, false);
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

    /// <summary>
    /// Creates the config's ConfigMap, or reuses the one a repeated start made. One left over without an owner and with
    /// other content (a start that failed half-way, then a changed config) is replaced; one owned by a Job is left alone
    /// (the Job's config hash decides whether this is the same run). Returns whether this call created it.
    /// </summary>
    private async Task<bool> EnsureConfigMapAsync(IKubernetes client, V1ConfigMap configMap, string jobId, CancellationToken cancellationToken)
    {
        var ns = configMap.Metadata.NamespaceProperty;
        var name = configMap.Metadata.Name;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await client.CoreV1.CreateNamespacedConfigMapAsync(configMap, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.Conflict) && attempt == 0)
            {
                var existing = await ReadConfigMapAsync(client, ns, name, jobId, cancellationToken).ConfigureAwait(false);
                if (existing is null)
                {
                    continue; // Deleted between our create and read: create again, once.
                }

                if (existing.Metadata?.OwnerReferences is { Count: > 0 } || SameData(existing, configMap))
                {
                    return false;
                }

                await DeleteConfigMapAsync(client, existing, jobId, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException ex)
            {
                throw KubernetesErrors.Translate(ex, "create", ConfigMapsResource, ns, jobId, isWrite: true);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                throw KubernetesErrors.WriteFailed(ex, _connection.Source, "create", ConfigMapsResource, jobId);
            }
        }
    }

    private static bool SameData(V1ConfigMap existing, V1ConfigMap wanted) =>
        existing.Data is { } data && data.Count == wanted.Data.Count
        && wanted.Data.All(kv => data.TryGetValue(kv.Key, out var value) && string.Equals(value, kv.Value, StringComparison.Ordinal));

    private async Task<V1ConfigMap?> ReadConfigMapAsync(IKubernetes client, string ns, string name, string jobId, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedConfigMapAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
        {
            return null;
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesErrors.Translate(ex, "get", ConfigMapsResource, ns, jobId);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw KubernetesErrors.Unreachable(ex, _connection.Source, "get", ConfigMapsResource, jobId);
        }
    }

    private async Task DeleteConfigMapAsync(IKubernetes client, V1ConfigMap existing, string jobId, CancellationToken cancellationToken)
    {
        var ns = existing.Metadata.NamespaceProperty;
        try
        {
            // Only the one read (UID precondition): never a ConfigMap another start created meanwhile.
            var options = new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = existing.Metadata.Uid } };
            await client.CoreV1.DeleteNamespacedConfigMapAsync(existing.Metadata.Name, ns, options, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
        {
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesErrors.Translate(ex, "delete", ConfigMapsResource, ns, jobId, isWrite: true);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw KubernetesErrors.WriteFailed(ex, _connection.Source, "delete", ConfigMapsResource, jobId);
        }
    }

    /// <summary>Best effort: the Job was not created, so the ConfigMap this start made goes too.</summary>
    private async Task DeleteConfigMapQuietlyAsync(IKubernetes client, V1ConfigMap configMap)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), _time);
            await client.CoreV1.DeleteNamespacedConfigMapAsync(configMap.Metadata.Name, configMap.Metadata.NamespaceProperty, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException or OperationCanceledException)
        {
            Log.ConfigMapLeft(_logger, configMap.Metadata.NamespaceProperty, configMap.Metadata.Name, ex.Message);
        }
    }

    /// <summary>Makes the Job the ConfigMap's owner, so the garbage collector deletes it with the Job.</summary>
    private async Task AdoptConfigMapAsync(IKubernetes client, V1ConfigMap configMap, V1Job owner, string jobId, CancellationToken cancellationToken)
    {
        var ns = configMap.Metadata.NamespaceProperty;
        var patch = new V1Patch(
            new V1ConfigMap
            {
                Metadata = new V1ObjectMeta
                {
                    OwnerReferences =
                    [
                        new V1OwnerReference { ApiVersion = "batch/v1", Kind = "Job", Name = owner.Metadata.Name, Uid = owner.Metadata.Uid },
                    ],
                },
            },
            V1Patch.PatchType.MergePatch);
        try
        {
            await client.CoreV1.PatchNamespacedConfigMapAsync(patch, configMap.Metadata.Name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesErrors.Translate(ex, "patch", ConfigMapsResource, ns, jobId, isWrite: true);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw KubernetesErrors.WriteFailed(ex, _connection.Source, "patch", ConfigMapsResource, jobId);
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
