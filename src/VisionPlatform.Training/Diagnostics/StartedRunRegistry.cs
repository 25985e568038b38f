namespace VisionPlatform.Training.Diagnostics;

/// <summary>
/// The runs this host started, by job id, for the metrics: their framework (a status does not carry it) and whether
/// their outcome was counted. Bounded: the oldest entries are forgotten first, which only costs a forgotten run its
/// framework tag (<c>unknown</c>) and the first-seen-terminal rule (see <see cref="TrainingMetrics"/>).
/// </summary>
internal sealed class StartedRunRegistry(int capacity)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Queue<(string JobId, Entry Entry)> _order = new();

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Notes that a start of this job id is under way (before the executor is called, so its first status is recognised).</summary>
    /// <returns>The entry, new or existing.</returns>
    public Entry Begin(string jobId, string framework)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(jobId, out var existing))
            {
                return existing;
            }

            var entry = new Entry(framework);
            _entries[jobId] = entry;
            _order.Enqueue((jobId, entry));
            while (_order.Count > capacity && _order.TryDequeue(out var oldest))
            {
                if (_entries.TryGetValue(oldest.JobId, out var current) && ReferenceEquals(current, oldest.Entry))
                {
                    _entries.Remove(oldest.JobId);
                }
            }

            return entry;
        }
    }

    /// <summary>Records the run a start returned.</summary>
    /// <returns><see langword="true"/> for a new run; <see langword="false"/> when the start returned a run already counted (an idempotent repeat).</returns>
    public bool Started(Entry entry, TrainingRun run, string framework)
    {
        lock (_gate)
        {
            if (entry.Run is { } known)
            {
                if (known.Equals(run))
                {
                    return false;
                }

                // The same job id on a new resource after the old run finished: a new run.
                entry.Finished = false;
            }

            // Finished stays as it is for a run whose outcome was already seen while its start was under way.
            entry.Run = run;
            entry.Framework = framework;
            return true;
        }
    }

    /// <summary>Forgets a start that returned no run (an entry still waiting for one).</summary>
    public void Abandon(string jobId, Entry entry)
    {
        lock (_gate)
        {
            if (entry.Run is null && _entries.TryGetValue(jobId, out var current) && ReferenceEquals(current, entry))
            {
                _entries.Remove(jobId);
            }
        }
    }

    /// <summary>
    /// The entry for a run: a start of its job id that has not returned yet, or a start that returned this run.
    /// </summary>
    public bool TryGet(TrainingRun run, out string framework, out bool finished)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(run.JobId, out var entry) && (entry.Run is null || entry.Run.Equals(run)))
            {
                framework = entry.Framework;
                finished = entry.Finished;
                return true;
            }
        }

        framework = TrainingMetrics.UnknownFramework;
        finished = false;
        return false;
    }

    /// <summary>Marks a run's outcome counted, so seeing it terminal again (after the hub forgot it) counts nothing.</summary>
    public void Finish(TrainingRun run)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(run.JobId, out var entry) && (entry.Run is null || entry.Run.Equals(run)))
            {
                entry.Finished = true;
            }
        }
    }

    internal sealed class Entry(string framework)
    {
        public TrainingRun? Run { get; set; }

        public string Framework { get; set; } = framework;

        public bool Finished { get; set; }
    }
}
