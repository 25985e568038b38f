using k8s;
using k8s.Autorest;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>List and find: the monitor's cache while it is synced, else two paged lists (Jobs and pods) or one read.</summary>
public sealed partial class KubernetesTrainingExecutor
{

    /// <inheritdoc />
    public async Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= TrainingRunQuery.All;
        var selector = BuildSelector(query);
        if (Monitor is { IsSynced: true } monitor)
        {
            return monitor.List(query);
        }

        var ns = Options.Namespace;
        var client = _connection.GetClient();
        var jobs = new List<V1Job>();
        var pods = new List<V1Pod>();
        try
        {
            string? next = null;
            do
            {
                var page = await client.BatchV1.ListNamespacedJobAsync(ns, labelSelector: selector, limit: 500, continueParameter: next, cancellationToken: cancellationToken).ConfigureAwait(false);
                jobs.AddRange(page.Items ?? []);
                next = page.Metadata?.ContinueProperty;
            }
            while (!string.IsNullOrEmpty(next));

            next = null;
            do
            {
                var page = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, limit: 500, continueParameter: next, cancellationToken: cancellationToken).ConfigureAwait(false);
                pods.AddRange(page.Items ?? []);
                next = page.Metadata?.ContinueProperty;
            }
            while (!string.IsNullOrEmpty(next));
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesErrors.Translate(ex, "list", JobsResource + " and " + PodsResource, ns, null);
        }
        catch (HttpRequestException ex)
        {
            throw KubernetesErrors.Unreachable(ex, _connection.Source, "list", JobsResource, null);
        }

        var now = _time.GetUtcNow();
        var result = new List<TrainingRunStatus>(jobs.Count);
        foreach (var job in jobs.OrderBy(j => j.Metadata?.CreationTimestamp ?? DateTime.MinValue).ThenBy(j => j.Metadata?.Name, StringComparer.Ordinal))
        {
            var jobId = job.Metadata?.Annotations?.TryGetValue(KubernetesLabels.JobIdAnnotation, out var id) == true ? id : null;
            if (string.IsNullOrEmpty(jobId) || (query.ProjectId is { } project && !KubernetesProject.Matches(job.Metadata, project)))
            {
                continue;
            }

            var run = new TrainingRun(Name, jobId, $"{ns}/{job.Metadata!.Name}");
            var status = Projection.Project(
                CachedJob.From(job, run, Options.Gpu.ResourceName),
                pods.Where(p => IsPodOf(p, job)).Select(CachedPod.Read).OfType<CachedPod>().ToList(),
                now,
                failureTail: null);
            if (query.Phases is not { Count: > 0 } phases || phases.Contains(status.Phase))
            {
                result.Add(status);
            }
        }

        return result;
    }

    /// <inheritdoc />
    public async Task<TrainingRun?> FindAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var ns = Options.Namespace;
        var client = _connection.GetClient();

        // A distributed job's name is shorter for a long job id (its pods' hostnames must fit): look there too.
        foreach (var name in new[] { KubernetesJobNames.FromJobId(jobId), KubernetesJobNames.GroupNameFromJobId(jobId) }.Distinct(StringComparer.Ordinal))
        {
            var job = await TryReadJobAsync(client, ns, name, jobId, cancellationToken).ConfigureAwait(false);
            if (job is not null && BelongsTo(job, jobId))
            {
                return new TrainingRun(Name, jobId, $"{ns}/{name}");
            }
        }

        return null;
    }

    private static string BuildSelector(TrainingRunQuery query)
    {
        var parts = new List<string> { $"{KubernetesLabels.ManagedBy}={KubernetesLabels.ManagedByValue}" };
        if (query.ProjectId is { } project)
        {
            parts.Add($"{KubernetesLabels.ProjectId}={KubernetesJobNames.ToLabelValue(project)}");
        }

        var errors = new List<TrainingValidationError>();
        foreach (var (key, value) in query.Labels ?? new Dictionary<string, string>())
        {
            if (!NameSyntax.IsQualifiedName(key) || !NameSyntax.IsLabelValue(value))
            {
                errors.Add(new TrainingValidationError($"Labels[{key}]", value, "must be a valid label key and value (" + NameSyntax.QualifiedNameRule + "; value " + NameSyntax.LabelValueRule + ")"));
                continue;
            }

            parts.Add($"{key}={value}");
        }

        return errors.Count > 0 ? throw new TrainingValidationException(errors) : string.Join(",", parts);
    }
}
