using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Storage;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The monitor's log archiving (<c>Training:Kubernetes:Logs</c>): every pod of every run whose trainer started is copied
/// into the <see cref="IRunLogArchive"/> by a <see cref="PodLogArchiver"/> (attempt = the pod's place among its rank's pods,
/// rank = its completion index, 0 for a Job that is not indexed), at most <see cref="KubernetesLogArchiveOptions.MaxFollows"/>
/// at once. Once a finished run's pods are all drained (and the pod cache is synced and caught up with the Job), the Job's <c>ttlSecondsAfterFinished</c> is set to
/// <c>Job:TtlSecondsAfterFinished</c> with one merge patch (uid precondition) that also records
/// <see cref="KubernetesLabels.LogsArchivedAnnotation"/>, so no host archives it again. Called under the monitor's lock.
/// </summary>
internal sealed class LogArchiving(
    Lock gate,
    RunCache cache,
    IKubernetes client,
    string ns,
    IRunLogArchive archive,
    KubernetesExecutorOptions options,
    Func<bool> running,
    Func<bool> synced,
    Action<V1Job> observe,
    TimeProvider time,
    ILogger logger)
{
    /// <summary>How long after a failed archiving or TTL patch the run is tried again.</summary>
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, RunArchive> _runs = new(StringComparer.Ordinal);
    private int _active;
    private bool _leading;

    /// <summary>Archivers flushing because the monitor stops; abandoned instead if the Lease is lost meanwhile.</summary>
    private List<PodLogArchiver> _stopping = [];

    /// <summary>
    /// This host holds the archiving Lease (or the <see cref="LogArchiveLease"/> is not used): archive from now on. Call
    /// outside the lock.
    /// </summary>
    public void Lead()
    {
        lock (gate)
        {
            _leading = true;
            if (running())
            {
                UpdateAll();
            }
        }
    }

    /// <summary>
    /// This host lost the archiving Lease: every archiver stops at once without writing what it holds (the next holder reads
    /// those lines from the pods), no TTL is set any more, and this completes once they all ended. Call outside the lock.
    /// </summary>
    public async Task AbandonAllAsync()
    {
        List<PodLogArchiver> archivers;
        lock (gate)
        {
            _leading = false;
            archivers = [.. _runs.Values.SelectMany(r => r.Active.Values), .. _stopping];
            _runs.Clear();
        }

        foreach (var archiver in archivers)
        {
            archiver.Abandon();
        }

        await Task.WhenAll(archivers.Select(a => a.Completion)).ConfigureAwait(false);
    }

    /// <summary>Starts archiving the run's started pods, and sets the Job's TTL once the finished run is archived.</summary>
    public void Update(CachedJob job)
    {
        if (!_leading || job.LogsArchived || job.DeletionTimestamp is not null)
        {
            return;
        }

        if (!_runs.TryGetValue(job.Name, out var run) || run.Uid != job.Uid)
        {
            if (run is not null)
            {
                StopRun(run);
            }

            run = new RunArchive(job.Uid);
            _runs[job.Name] = run;
        }

        if (run.Patching || time.GetUtcNow() < run.NotBefore)
        {
            return;
        }

        var pods = cache.PodsOf(job);
        var pending = false;
        var attempts = new Dictionary<int, int>();
        foreach (var pod in pods)
        {
            var rank = Math.Max(0, pod.CompletionIndex);
            var attempt = attempts[rank] = attempts.GetValueOrDefault(rank) + 1;
            var started = pod.IsRunning || pod.TerminatedStartedAt is not null;
            if (!started || run.Done.Contains(pod.Name))
            {
                continue;
            }

            pending = true;
            if (run.Active.ContainsKey(pod.Name))
            {
                continue;
            }

            if (_active >= options.Logs.MaxFollows)
            {
                if (run.Waiting.Add(pod.Name))
                {
                    LogArchiveLog.Limit(logger, pod.Name, job.Run.JobId, options.Logs.MaxFollows); // once per pod
                }

                continue;
            }

            Start(job, run, pod.Name, attempt, rank);
        }

        // Only once the pod cache is complete (both lists done) and has caught up with the Job's last change: the Job's
        // Complete condition can arrive before its pod does, and a pod not seen yet must not be taken for none.
        if (!pending && job.IsFinished && synced() && !cache.PodsBehind(job))
        {
            run.Patching = true;
            _ = ApplyTtlAsync(job.Name, job.Uid, job.Run.JobId, run);
        }
    }

    /// <summary>Re-evaluates every cached run (after a re-list, and periodically for retries).</summary>
    public void UpdateAll()
    {
        foreach (var job in cache.Jobs)
        {
            Update(job);
        }
    }

    /// <summary>The Job is gone: its pods' archivers end by themselves (their pods are gone), and the run is forgotten.</summary>
    public void Forget(string? jobName)
    {
        if (jobName is not null && _runs.Remove(jobName, out var run))
        {
            StopRun(run);
        }
    }

    /// <summary>Stops every archiver, flushing what each holds, and waits for them (the monitor is stopping). Call outside the lock.</summary>
    public async Task StopAllAsync()
    {
        List<PodLogArchiver> archivers;
        lock (gate)
        {
            archivers = [.. _runs.Values.SelectMany(r => r.Active.Values)];
            _runs.Clear();
            _stopping = archivers;
        }

        foreach (var archiver in archivers)
        {
            archiver.Stop();
        }

        await Task.WhenAll(archivers.Select(a => a.Completion)).ConfigureAwait(false);
    }

    private void Start(CachedJob job, RunArchive run, string podName, int attempt, int rank)
    {
        var jobName = job.Name;
        var archiver = new PodLogArchiver(client, ns, job.Run.JobId, podName, attempt, rank, archive, options.Logs, () => IsPodRunning(jobName, podName), time, logger);
        run.Active[podName] = archiver;
        _active++;
        archiver.Completion.ContinueWith(
            t =>
            {
                _ = t.Exception; // Observed; the archiver logs its own failures.
                lock (gate)
                {
                    if (run.Active.Remove(podName))
                    {
                        _active--;
                    }

                    if (archiver.Drained && !t.IsFaulted)
                    {
                        run.Done.Add(podName);
                    }
                    else
                    {
                        run.NotBefore = time.GetUtcNow() + RetryDelay;
                    }

                    if (running() && _runs.TryGetValue(jobName, out var current) && ReferenceEquals(current, run) && cache.TryGetJob(jobName, out var latest))
                    {
                        Update(latest);
                    }
                }

                archiver.Dispose();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private static void StopRun(RunArchive run)
    {
        foreach (var archiver in run.Active.Values)
        {
            archiver.Stop();
        }
    }

    private async Task ApplyTtlAsync(string jobName, Guid uid, string jobId, RunArchive run)
    {
        var ttl = options.Job.TtlSecondsAfterFinished;
        var patch = new System.Text.Json.Nodes.JsonObject
        {
            ["metadata"] = new System.Text.Json.Nodes.JsonObject
            {
                ["uid"] = uid.ToString(),
                ["annotations"] = new System.Text.Json.Nodes.JsonObject
                {
                    [KubernetesLabels.LogsArchivedAnnotation] = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                },
            },
            ["spec"] = new System.Text.Json.Nodes.JsonObject { ["ttlSecondsAfterFinished"] = ttl },
        };
        var done = false;
        lock (gate)
        {
            if (!_leading)
            {
                run.Patching = false; // Lost the Lease meanwhile: the next holder sets it.
                return;
            }
        }

        try
        {
            var patched = await client.BatchV1.PatchNamespacedJobAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), jobName, ns).ConfigureAwait(false);
            LogArchiveLog.TtlApplied(logger, jobId, ns, jobName, ttl is { } seconds ? seconds.ToString(CultureInfo.InvariantCulture) + " s" : "unset (kept)");
            observe(patched);
            done = true;
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound) || KubernetesErrors.Is(ex, HttpStatusCode.Conflict))
        {
            done = true; // Gone, or another Job of that name now: nothing to set.
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or TaskCanceledException)
        {
            LogArchiveLog.TtlFailed(logger, ns, jobName, jobId, ex.Message);
        }

        lock (gate)
        {
            run.Patching = false;
            if (done)
            {
                _runs.Remove(jobName);
            }
            else
            {
                run.NotBefore = time.GetUtcNow() + RetryDelay;
            }
        }
    }

    private bool IsPodRunning(string jobName, string podName)
    {
        lock (gate)
        {
            return cache.IsPodRunning(jobName, podName);
        }
    }

    /// <summary>One run's archiving: its pods being archived, those drained, and whether its TTL is being set.</summary>
    private sealed class RunArchive(Guid uid)
    {
        public Guid Uid { get; } = uid;

        public Dictionary<string, PodLogArchiver> Active { get; } = new(StringComparer.Ordinal);

        public HashSet<string> Done { get; } = new(StringComparer.Ordinal);

        /// <summary>Pods told to wait for a free place (warned once each).</summary>
        public HashSet<string> Waiting { get; } = new(StringComparer.Ordinal);

        public bool Patching { get; set; }

        public DateTimeOffset NotBefore { get; set; }
    }
}
