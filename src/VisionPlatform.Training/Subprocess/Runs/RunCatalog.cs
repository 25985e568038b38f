using VisionPlatform.Training.Subprocess.Retention;

namespace VisionPlatform.Training.Subprocess.Runs;

/// <summary>
/// The runs this executor knows, by directory name. A run not known yet is looked for on disk and, when its
/// <c>state.json</c> is there, loaded and handed to recovery once (so a run created by another executor instance, or
/// before a restart, is taken over the first time anyone asks for it). Runs whose retention has ended are not found.
/// </summary>
internal sealed class RunCatalog(SubprocessContext context, RetentionPolicy retention, Action<RunEntry, RunStateDocument> recover)
{
    private readonly Dictionary<string, RunEntry> _runs = new(StringComparer.Ordinal);
    private int _recovered;

    /// <summary>The first time anything is asked: find earlier runs, reattach to live ones, requeue queued ones.</summary>
    /// <returns><see langword="true"/> when this call did the recovery.</returns>
    public bool EnsureRecovered()
    {
        if (Interlocked.Exchange(ref _recovered, 1) != 0)
        {
            return false;
        }

        Scan();
        return true;
    }

    /// <summary>Loads every run directory not known yet.</summary>
    public void Scan()
    {
        if (!Directory.Exists(context.RunsDirectory))
        {
            return;
        }

        foreach (var dir in Directory.EnumerateDirectories(context.RunsDirectory))
        {
            if (RunPaths.ForName(context.RunsDirectory, Path.GetFileName(dir)) is { } paths)
            {
                Adopt(paths);
            }
        }
    }

    /// <summary>
    /// The run in a directory, loading it from disk (and recovering it) the first time, or <see langword="null"/> when
    /// there is none. Also returns a run whose retention has ended (its directory is removed by <see cref="RunRetention"/>).
    /// </summary>
    /// <param name="paths">The run directory.</param>
    public RunEntry? Adopt(RunPaths paths)
    {
        lock (_runs)
        {
            if (_runs.TryGetValue(paths.Name, out var known))
            {
                if (!IsGone(known))
                {
                    return known;
                }

                // The directory may have been removed (by retention, another instance or by hand) or hold a new run: read it again.
                _runs.Remove(paths.Name);
            }
        }

        var state = RunStore.TryLoad(paths);
        if (state is null || state.Executor != context.ExecutorName)
        {
            return null;
        }

        var entry = new RunEntry(paths, state, new TrainingRun(context.ExecutorName, state.JobId, paths.Name), context.Monitor);
        lock (_runs)
        {
            if (_runs.TryGetValue(paths.Name, out var raced))
            {
                return raced;
            }

            _runs[paths.Name] = entry;
        }

        recover(entry, state);
        return entry;
    }

    /// <summary>Whether a known run's record may be gone: its retention ended, or it is terminal and its <c>state.json</c> was removed.</summary>
    private bool IsGone(RunEntry entry) =>
        retention.IsExpired(entry) || (entry.Terminal.IsCompleted && !File.Exists(entry.Paths.StateFile));

    /// <summary>Adds a run this executor has just created, unless a concurrent look-up has loaded it first.</summary>
    /// <param name="entry">The new run.</param>
    /// <returns>The run now known under its name (<paramref name="entry"/>, or the one loaded first), and whether it is <paramref name="entry"/>.</returns>
    public (RunEntry Entry, bool Added) Add(RunEntry entry)
    {
        lock (_runs)
        {
            if (_runs.TryGetValue(entry.Paths.Name, out var adopted))
            {
                return (adopted, false);
            }

            _runs[entry.Paths.Name] = entry;
            return (entry, true);
        }
    }

    /// <summary>Forgets a run (its directory is being removed).</summary>
    /// <param name="entry">The run.</param>
    public void Remove(RunEntry entry)
    {
        lock (_runs)
        {
            if (_runs.TryGetValue(entry.Paths.Name, out var known) && known == entry)
            {
                _runs.Remove(entry.Paths.Name);
            }
        }
    }

    /// <summary>The run of a handle, or <see langword="null"/> when it is not (or no longer) one of ours.</summary>
    /// <param name="run">The handle.</param>
    public RunEntry? Resolve(TrainingRun run)
    {
        if (!string.Equals(run.ExecutorName, context.ExecutorName, StringComparison.OrdinalIgnoreCase) ||
            RunPaths.ForName(context.RunsDirectory, run.ResourceId) is not { } paths)
        {
            return null;
        }

        var entry = Adopt(paths);
        return entry is not null && entry.Handle.JobId == run.JobId && !retention.IsExpired(entry) ? entry : null;
    }

    /// <summary>The run of a job id, or <see langword="null"/>.</summary>
    /// <param name="jobId">The job id.</param>
    public RunEntry? Find(string jobId)
    {
        var entry = Adopt(RunPaths.ForJob(context.RunsDirectory, jobId));
        return entry is not null && entry.Handle.JobId == jobId && !retention.IsExpired(entry) ? entry : null;
    }

    /// <summary>The known runs that match a condition.</summary>
    /// <param name="predicate">The condition.</param>
    public RunEntry[] Where(Func<RunEntry, bool> predicate)
    {
        lock (_runs)
        {
            return _runs.Values.Where(predicate).ToArray();
        }
    }

    /// <summary>The statuses of the known runs matching a query, oldest first (runs whose retention ended are left out).</summary>
    /// <param name="query">The query.</param>
    public List<TrainingRunStatus> List(TrainingRunQuery query)
    {
        var result = new List<TrainingRunStatus>();
        foreach (var entry in Where(_ => true))
        {
            RunStateDocument state;
            lock (entry.Sync)
            {
                state = entry.State;
            }

            if (!retention.IsExpired(state) &&
                (query.ProjectId is null || state.Config.ProjectId == query.ProjectId) &&
                (query.Phases is not { Count: > 0 } || query.Phases.Contains(state.Phase)) &&
                (query.Labels is null || query.Labels.All(l => state.Config.Labels.TryGetValue(l.Key, out var v) && v == l.Value)))
            {
                result.Add(entry.ToStatus());
            }
        }

        result.Sort((a, b) => Nullable.Compare(a.CreatedAt, b.CreatedAt));
        return result;
    }
}
