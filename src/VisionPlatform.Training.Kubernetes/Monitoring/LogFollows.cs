using k8s;
using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The monitor's pod log follows: a run's log is followed while someone wants its progress or log lines and its trainer
/// runs (at most <c>Monitor:MaxLogFollows</c> at once), and no longer once nobody does. A follow whose pod stopped ends
/// by itself once the log is drained, so the last progress line is not lost; then <paramref name="ended"/> runs (the
/// monitor publishes a finished run's final status held back for it). Called under the monitor's lock.
/// </summary>
internal sealed class LogFollows(
    Lock gate,
    RunCache cache,
    ITrainingEventPublisher publisher,
    IKubernetes client,
    string ns,
    int maxFollows,
    Func<bool> running,
    TimeProvider time,
    ILogger logger,
    Action ended)
{
    private readonly Dictionary<string, PodLogFollower> _follows = new(StringComparer.Ordinal);

    /// <summary>Whether the run's log is being followed now (its last lines may still be on their way).</summary>
    public bool IsFollowing(string jobName) => _follows.ContainsKey(jobName);

    /// <summary>Starts or stops following the run's current pod as interest and the pod's state say.</summary>
    public void Update(CachedJob job)
    {
        var jobId = job.Run.JobId;
        var wanted = publisher.WantsProgress(jobId) || publisher.WantsLogs(jobId);
        if (_follows.TryGetValue(job.Name, out var current))
        {
            if (!wanted && !current.Stopping)
            {
                current.Stop();
            }

            return;
        }

        // Progress comes from rank 0 only: for a group, follow node 0's pod.
        var pods = cache.PodsOf(job);
        if (!wanted || job.StopRequestedAt is not null || PodGroup.OfRank(pods, 0) is not { } newest)
        {
            return;
        }

        // A running trainer is followed; so is an attempt that ran and ended between two observations (a short retry,
        // or one that started while the previous attempt's log was still draining): its log is read once, before the
        // run's final status is published, so its lines are not lost.
        var follow = newest.IsRunning
            ? !job.IsFinished
            : newest.HasFinishedLog && job.FollowedPod != newest.Name && job.PublishedPhase is not (TrainingPhase.Succeeded or TrainingPhase.Failed or TrainingPhase.Stopped);
        if (!follow)
        {
            return;
        }

        if (_follows.Count >= maxFollows)
        {
            MonitorLog.FollowLimit(logger, jobId, maxFollows);
            return;
        }

        var pod = newest;
        var jobName = job.Name;
        job.FollowedPod = pod.Name;
        var follower = new PodLogFollower(client, ns, job.Run, pod.Name, PodGroup.Attempts(pods), publisher, () => IsPodRunning(jobName, pod.Name), time, logger);
        _follows[jobName] = follower;
        follower.Completion.ContinueWith(
            _ =>
            {
                lock (gate)
                {
                    if (_follows.TryGetValue(jobName, out var registered) && ReferenceEquals(registered, follower))
                    {
                        _follows.Remove(jobName);
                        ended();
                    }

                    // A retry's pod may have started meanwhile.
                    if (running() && cache.TryGetJob(jobName, out var latest))
                    {
                        Update(latest);
                    }
                }

                follower.Dispose();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Stops every follow and waits for them to end (the monitor is stopping). Call outside the lock.</summary>
    public async Task StopAllAsync()
    {
        List<PodLogFollower> follows;
        lock (gate)
        {
            follows = [.. _follows.Values];
            _follows.Clear();
        }

        foreach (var follow in follows)
        {
            follow.Stop();
        }

        await Task.WhenAll(follows.Select(f => f.Completion)).ConfigureAwait(false);
        foreach (var follow in follows)
        {
            follow.Dispose();
        }
    }

    private bool IsPodRunning(string jobName, string podName)
    {
        lock (gate)
        {
            return cache.IsPodRunning(jobName, podName);
        }
    }
}
