namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Turns the monitor's record changes into status events, once both lists are in: a run's final status waits for the pod
/// watch to catch up (so it carries the exit code, and is published once) and for the run's log follow to drain (so every
/// progress event comes before it), a Job created while watched is reported
/// Pending first, and a run seen only pending and then finished gets a Running event in between. Called under the
/// monitor's lock.
/// </summary>
internal sealed class RunEventPublishing(
    RunCache cache,
    ITrainingEventPublisher? publisher,
    Func<CachedJob, TrainingRunStatus> project,
    Action<CachedJob> afterPublish,
    RunWaiters waiters,
    TimeProvider time,
    Func<string, bool> following,
    Action<CachedJob> beforeFinal)
{
    private readonly Dictionary<string, DateTimeOffset> _deferred = new(StringComparer.Ordinal);
    private bool _publishing;

    /// <summary>Starts publishing (both lists are in, so a running Job is never reported Pending for lack of its pod); false when already started.</summary>
    public bool Start()
    {
        if (_publishing)
        {
            return false;
        }

        _publishing = true;
        PublishAll();
        return true;
    }

    public void PublishAll()
    {
        foreach (var job in cache.Jobs)
        {
            Publish(job);
        }
    }

    /// <summary>Publishes the run's current status (or <paramref name="status"/>) and wakes its waiters.</summary>
    public void Publish(CachedJob job, TrainingRunStatus? status = null)
    {
        if (_publishing && publisher is not null)
        {
            if (status is null && job.IsFinished)
            {
                // An attempt that ran and ended unobserved gets its log drained first (LogFollows), held back below.
                beforeFinal(job);
            }

            if (status is null && HoldBack(job))
            {
                // Held back until the pod watch catches up and the log follow has drained the last lines (PublishCaughtUp),
                // at the latest until the next re-evaluation.
                _deferred.TryAdd(job.Name, time.GetUtcNow());
                waiters.Signal(job.Name);
                return;
            }

            _deferred.Remove(job.Name);
            PublishNow(publisher, job, status ?? project(job));
            afterPublish(job);
        }

        waiters.Signal(job.Name);
    }

    /// <summary>Publishes the held-back runs whose pods the pod watch has caught up with and whose log follow has ended.</summary>
    public void PublishCaughtUp()
    {
        if (_deferred.Count == 0)
        {
            return;
        }

        foreach (var name in _deferred.Keys.ToList())
        {
            if (!cache.TryGetJob(name, out var job))
            {
                _deferred.Remove(name);
            }
            else if (!HoldBack(job))
            {
                Publish(job);
            }
        }
    }

    /// <summary>
    /// Publishes what is known of runs held back for a whole <paramref name="interval"/>: the pod watch is slow or quiet
    /// (bookmarks are rare on real servers). Only after a whole interval, so a Job held back just before a tick still gets
    /// its pod's exit code (a second terminal event for the same run would break "each phase once").
    /// </summary>
    public void PublishOverdue(TimeSpan interval)
    {
        var now = time.GetUtcNow();
        foreach (var (name, since) in _deferred.ToList())
        {
            if (now - since < interval)
            {
                continue;
            }

            _deferred.Remove(name);
            if (cache.TryGetJob(name, out var late))
            {
                Publish(late, project(late));
            }
        }
    }

    /// <summary>
    /// Whether a run's final status must wait: its pods' last state is not in yet, or a stopped or finished run's log
    /// follow still has lines on their way (a progress event must not come after the terminal one).
    /// </summary>
    private bool HoldBack(CachedJob job) =>
        (job.IsFinished && cache.PodsBehind(job)) || ((job.IsFinished || job.StopRequestedAt is not null) && following(job.Name));

    private static void PublishNow(ITrainingEventPublisher publisher, CachedJob job, TrainingRunStatus status)
    {
        if (job.New && job.PublishedPhase is null && status.Phase != TrainingPhase.Pending && !publisher.TryGetStatus(job.Run.JobId, out _))
        {
            // A Job created while watched was pending first, even when its pod's events arrived before the Job's
            // (the two watches are separate streams, replayed separately after a reconnect).
            publisher.PublishStatus(status with
            {
                Phase = TrainingPhase.Pending,
                Reason = TrainingStatusReasons.Starting,
                Message = "The Job was created.",
                StartedAt = null,
                FinishedAt = null,
                ExitCode = null,
                Cost = null,
                Progress = null,
            });
            job.PublishedPhase = TrainingPhase.Pending;
        }

        job.New = false;
        if (status.Phase is TrainingPhase.Succeeded or TrainingPhase.Failed && job.PublishedPhase == TrainingPhase.Pending && status.StartedAt is not null)
        {
            // The run started and finished between two observations (an outage, a re-list): it did run, so say so.
            publisher.PublishStatus(status with
            {
                Phase = TrainingPhase.Running,
                Reason = TrainingStatusReasons.Running,
                Message = $"Attempt {status.Attempt} ran (observed after it finished).",
                FinishedAt = null,
                ExitCode = null,
                Cost = null,
            });
        }

        publisher.PublishStatus(status);
        job.PublishedPhase = status.Phase;
    }
}
