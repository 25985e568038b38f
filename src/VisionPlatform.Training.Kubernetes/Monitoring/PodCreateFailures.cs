using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Turns the Job controller's FailedCreate Events into <see cref="CachedJob.CreateFailure"/>. An Event for a Job the
/// cache does not hold yet (the Events list may arrive before the Jobs list) is kept by the Job's UID, at most
/// <see cref="MaxUnattached"/> of them, and attached when the Job arrives. Called under the monitor's lock.
/// </summary>
internal sealed class PodCreateFailures
{
    /// <summary>Most refusals kept for Jobs not in the cache; the oldest goes first.</summary>
    public const int MaxUnattached = 1024;

    private readonly Dictionary<string, PodCreateFailure> _unattached = new(StringComparer.Ordinal);

    /// <summary>Records an Event; returns the cached Job whose status it changes, or null.</summary>
    /// <param name="item">A watched or listed Event.</param>
    /// <param name="cache">The monitor's cache.</param>
    public CachedJob? Record(Corev1Event item, RunCache cache)
    {
        if (PodCreateFailure.From(item, out var jobName, out var uid) is not { } failure)
        {
            return null;
        }

        if (cache.TryGetJob(jobName, out var job) && (uid is null || string.Equals(job.Uid.ToString(), uid, StringComparison.OrdinalIgnoreCase)))
        {
            job.CreateFailure = job.CreateFailure is { } known ? known.Merge(failure) : failure;
            return job;
        }

        if (uid is not null)
        {
            if (_unattached.Count >= MaxUnattached)
            {
                _unattached.Remove(_unattached.Keys.First());
            }

            var key = uid.ToLowerInvariant();
            _unattached[key] = _unattached.TryGetValue(key, out var earlier) ? earlier.Merge(failure) : failure;
        }

        return null;
    }

    /// <summary>Gives a Job that just arrived the refusal seen before it.</summary>
    /// <param name="job">The Job, just cached.</param>
    public void Attach(CachedJob job)
    {
        if (_unattached.Count > 0 && _unattached.Remove(job.Uid.ToString(), out var failure))
        {
            job.CreateFailure = job.CreateFailure is { } known ? known.Merge(failure) : failure;
        }
    }
}
