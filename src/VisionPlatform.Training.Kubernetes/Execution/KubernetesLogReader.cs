using System.Net;
using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Reads a run's log from its pods. Each attempt (retry) is a pod; lines carry the attempt number. Following streams
/// the current pod, moves on to the next attempt's pod when the Job retries, and ends when the Job has finished and
/// the last pod's log is drained. Timestamps are always requested so a dropped stream can be resumed without
/// repeating or losing lines.
/// </summary>
internal sealed class KubernetesLogReader(
    KubernetesConnection connection,
    string ns,
    string jobName,
    string jobId,
    TrainingLogOptions options,
    TimeSpan pollInterval,
    TimeProvider time,
    ILogger logger,
    VisionPlatform.Training.Storage.IRunLogArchive? archive = null)
{
    public async IAsyncEnumerable<TrainingLogLine> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var client = connection.GetClient();
        var (job, pods) = await ReadJobAndPodsAsync(client, cancellationToken).ConfigureAwait(false);
        if (job is null || pods.Count == 0)
        {
            // The Job (or its pods) is gone: the archived log answers, when there is one.
            var archived = archive is null ? null : new ArchivedLogReader(archive, jobId, options);
            if (archived is not null && await archived.HasLogAsync(cancellationToken).ConfigureAwait(false))
            {
                await foreach (var line in archived.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    yield return line;
                }

                yield break;
            }

            if (job is null)
            {
                throw NotFound();
            }
        }

        // Streamed, never the whole log in memory: with a tail, only the last TailLines lines are held (across attempts,
        // since with every attempt the tail applies to the whole log).
        var chosen = options.AllAttempts ? pods : pods.Skip(Math.Max(0, pods.Count - 1)).ToList();
        var window = new LogLineWindow(options);
        foreach (var pod in chosen)
        {
            var attempt = Attempt(pods, pod);
            var stream = await TryOpenAsync(client, pod, follow: false, options.TailLines, SinceSeconds(options.Since), cancellationToken).ConfigureAwait(false);
            if (stream is null)
            {
                continue;
            }

            using (stream)
            {
                await foreach (var line in ReadLinesAsync(stream, attempt, resume: default, cancellationToken).ConfigureAwait(false))
                {
                    if (window.Offer(line) is { } now)
                    {
                        yield return now;
                    }
                }
            }
        }

        foreach (var line in window.Drain())
        {
            yield return line;
        }
    }

    public async IAsyncEnumerable<TrainingLogLine> FollowAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var client = connection.GetClient();
        var first = true;
        var done = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var (job, pods) = await ReadJobAndPodsAsync(client, cancellationToken).ConfigureAwait(false);
            if (first && (job is null || (pods.Count == 0 && KubernetesStatusMapper.IsOver(job))))
            {
                // A finished run whose Job or pods are gone: its archived lines, then the end.
                var archived = archive is null ? null : new ArchivedLogReader(archive, jobId, options);
                if (archived is not null && await archived.HasLogAsync(cancellationToken).ConfigureAwait(false))
                {
                    await foreach (var line in archived.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        yield return line;
                    }

                    yield break;
                }
            }

            if (job is null)
            {
                if (first)
                {
                    throw NotFound();
                }

                yield break; // Stopped (deleted) while we followed it.
            }

            var pending = pods.Where(p => !done.Contains(p.Metadata.Name)).ToList();
            var pod = first && !options.AllAttempts ? (pods.Count > 0 ? pods[^1] : null) : (pending.Count > 0 ? pending[0] : null);
            if (pod is null)
            {
                if (KubernetesStatusMapper.IsOver(job))
                {
                    yield break;
                }

                await Task.Delay(pollInterval, time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var attempt = Attempt(pods, pod);
            await foreach (var line in FollowPodAsync(client, pod, attempt, first ? options.TailLines : null, cancellationToken).ConfigureAwait(false))
            {
                yield return line;
            }

            first = false;
            done.Add(pod.Metadata.Name);

            // Skip over attempts older than the one just streamed (only the current one was asked for).
            foreach (var older in pods.TakeWhile(p => p.Metadata.Name != pod.Metadata.Name))
            {
                done.Add(older.Metadata.Name);
            }
        }
    }

    private async IAsyncEnumerable<TrainingLogLine> FollowPodAsync(IKubernetes client, V1Pod pod, int attempt, int? tail, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var resume = default(LogResumePoint);
        var name = pod.Metadata.Name;
        while (true)
        {
            int? sinceSeconds = resume.Timestamp is { } last ? PodLogSince.SinceSeconds(time, last) : SinceSeconds(options.Since);
            var stream = await TryOpenAsync(client, pod, follow: true, resume.Timestamp is null ? tail : null, sinceSeconds, cancellationToken).ConfigureAwait(false);
            if (stream is not null)
            {
                using (stream)
                {
                    await foreach (var line in ReadLinesAsync(stream, attempt, resume, cancellationToken).ConfigureAwait(false))
                    {
                        resume = resume.Advance(line.Timestamp);
                        yield return options.Timestamps ? line : line with { Timestamp = null };
                    }
                }
            }

            var current = await TryReadPodAsync(client, name, cancellationToken).ConfigureAwait(false);
            if (current is null || IsTerminated(current))
            {
                if (current is not null)
                {
                    // Drain: a very short attempt may end before (or while) its follow stream opens. Lines already
                    // seen are skipped by their timestamps.
                    int? since = resume.Timestamp is { } seen ? PodLogSince.SinceSeconds(time, seen) : SinceSeconds(options.Since);
                    var rest = await TryOpenAsync(client, current, follow: false, resume.Timestamp is null ? tail : null, since, cancellationToken).ConfigureAwait(false);
                    if (rest is not null)
                    {
                        using (rest)
                        {
                            await foreach (var line in ReadLinesAsync(rest, attempt, resume, cancellationToken).ConfigureAwait(false))
                            {
                                resume = resume.Advance(line.Timestamp);
                                yield return options.Timestamps ? line : line with { Timestamp = null };
                            }
                        }
                    }
                }

                yield break;
            }

            if (stream is not null)
            {
                Log.LogReconnect(logger, name);
            }

            pod = current;
            await Task.Delay(pollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Opens a log stream, or returns null while the container has not started (400) or the pod is gone (404).</summary>
    private async Task<Stream?> TryOpenAsync(IKubernetes client, V1Pod pod, bool follow, int? tail, int? sinceSeconds, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedPodLogAsync(
                pod.Metadata.Name,
                ns,
                container: TrainingJobSpecBuilder.ContainerName,
                follow: follow ? true : null,
                sinceSeconds: sinceSeconds,
                tailLines: tail,
                timestamps: true,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.BadRequest))
        {
            var waiting = CachedPod.TrainerStatus(pod)?.State?.Waiting?.Reason ?? KubernetesErrors.ReadStatus(ex)?.Message ?? "not started";
            Log.WaitingForPod(logger, pod.Metadata.Name, jobId, waiting);
            return null;
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
        {
            return null;
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesErrors.Translate(ex, "get", "pods/log", ns, jobId);
        }
        catch (HttpRequestException ex)
        {
            throw KubernetesErrors.Unreachable(ex, connection.Source, "get", "pods/log", jobId);
        }
    }

    private async IAsyncEnumerable<TrainingLogLine> ReadLinesAsync(Stream stream, int attempt, LogResumePoint resume, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The client's token does not cancel reads of an open stream; closing the stream does.
        using var registration = cancellationToken.Register(stream.Dispose);
        var reader = new PodLogLineReader(stream);
        var seen = resume.StartRead();
        DateTimeOffset? lineTimestamp = null;
        while (true)
        {
            (string Text, bool Continued)? raw;
            try
            {
                raw = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or HttpRequestException)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield break; // The connection dropped: the caller resumes from the last timestamp.
            }

            if (raw is not { } part)
            {
                yield break;
            }

            // The parts of a line longer than the cap share the line's timestamp (only the first part carries one).
            var (timestamp, text) = part.Continued ? (lineTimestamp, part.Text) : PodLogLine.Parse(part.Text);
            lineTimestamp = timestamp;
            if (seen.Seen(timestamp))
            {
                continue;
            }

            if (options.Since is { } since && timestamp is { } at && at < since)
            {
                continue;
            }

            yield return new TrainingLogLine(text, timestamp, attempt);
        }
    }

    private async Task<(V1Job? Job, IReadOnlyList<V1Pod> Pods)> ReadJobAndPodsAsync(IKubernetes client, CancellationToken cancellationToken)
    {
        try
        {
            var job = await client.BatchV1.ReadNamespacedJobAsync(jobName, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!KubernetesTrainingExecutor.BelongsTo(job, jobId))
            {
                return (null, []);
            }

            var pods = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: KubernetesTrainingExecutor.PodSelector(job), cancellationToken: cancellationToken).ConfigureAwait(false);
            return (job, KubernetesStatusMapper.OrderByCreation(OfNode(job, pods.Items ?? [])));
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
        {
            return (null, []);
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesErrors.Translate(ex, "get", "jobs (batch) and pods", ns, jobId);
        }
        catch (HttpRequestException ex)
        {
            throw KubernetesErrors.Unreachable(ex, connection.Source, "get", "jobs (batch)", jobId);
        }
    }

    /// <summary>
    /// The pods of the node asked for: a distributed job's Indexed Job has one pod per node rank at a time (its completion
    /// index); each rank's attempts are its own. A Job of one pod has only node 0.
    /// </summary>
    private IEnumerable<V1Pod> OfNode(V1Job job, IList<V1Pod> pods)
    {
        var rank = options.NodeRank ?? 0;
        var nodes = job.Spec?.CompletionMode == "Indexed" ? job.Spec.Completions ?? 1 : 1;
        if (rank >= nodes)
        {
            throw new TrainingValidationException(
            [
                new TrainingValidationError(nameof(TrainingLogOptions.NodeRank), rank.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    $"must be a node rank of the run, 0 to {nodes - 1} (it runs on {nodes} node{(nodes == 1 ? string.Empty : "s")})"),
            ])
            {
                ExecutorName = KubernetesExecutorInfo.ExecutorName,
                JobId = jobId,
            };
        }

        if (job.Spec?.CompletionMode != "Indexed")
        {
            return pods;
        }

        var index = rank.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return pods.Where(p => (p.Metadata?.Labels?.TryGetValue(DistributionStep.CompletionIndexKey, out var value) == true
            || p.Metadata?.Annotations?.TryGetValue(DistributionStep.CompletionIndexKey, out value) == true) && value == index);
    }

    private async Task<V1Pod?> TryReadPodAsync(IKubernetes client, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedPodAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
        {
            return null;
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesErrors.Translate(ex, "get", "pods", ns, jobId);
        }
    }

    private static bool IsTerminated(V1Pod pod) =>
        pod.Status?.Phase is "Succeeded" or "Failed" ||
        CachedPod.TrainerStatus(pod)?.State?.Terminated is not null;

    private static int Attempt(IReadOnlyList<V1Pod> pods, V1Pod pod)
    {
        for (var i = 0; i < pods.Count; i++)
        {
            if (pods[i].Metadata.Name == pod.Metadata.Name)
            {
                return i + 1;
            }
        }

        return Math.Max(1, pods.Count);
    }

    /// <summary><c>sinceSeconds</c> for <see cref="TrainingLogOptions.Since"/> (<see cref="PodLogSince"/>); the lines before <c>Since</c> are then dropped by their timestamps.</summary>
    private int? SinceSeconds(DateTimeOffset? since) => since is { } s ? PodLogSince.SinceSeconds(time, s) : null;

    private TrainingException NotFound() =>
        new(TrainingErrorCode.RunNotFound, $"No Job {ns}/{jobName} for job id '{jobId}' exists, so it has no log.")
        {
            ExecutorName = KubernetesExecutorInfo.ExecutorName,
            JobId = jobId,
        };
}
