using VisionPlatform.Training.Subprocess.Runs;

namespace VisionPlatform.Training.Subprocess.Scheduling;

/// <summary>
/// The executor's slots and GPUs: at most <see cref="SubprocessExecutorOptions.MaxConcurrentRuns"/> runs hold a slot at
/// once, and a GPU is held by at most one run. Queued runs start first come, first served per resource: a run waiting
/// for GPUs does not hold up the runs behind it that fit. A run holds its slot and GPUs from its launch (or reattach)
/// until <see cref="Release"/>.
/// </summary>
internal sealed class RunScheduler
{
    private readonly SubprocessExecutorOptions _options;
    private readonly Func<RunEntry, int[], Task> _launch;
    private readonly object _gate = new();
    private readonly List<RunEntry> _queue = [];
    private readonly HashSet<int> _gpusInUse = [];
    private int _active;
    private bool _closed;

    /// <param name="options">The slot count and the host's GPUs.</param>
    /// <param name="launch">Launches a run that got its slot and GPUs (run on the thread pool).</param>
    public RunScheduler(SubprocessExecutorOptions options, Func<RunEntry, int[], Task> launch)
    {
        _options = options;
        _launch = launch;
    }

    /// <summary>Whether the executor is going away: nothing more is launched.</summary>
    public bool IsClosed
    {
        get
        {
            lock (_gate)
            {
                return _closed;
            }
        }
    }

    /// <summary>The GPUs a job would get if it started now (for the launch plan); the first ones listed when too few are free.</summary>
    /// <param name="count">How many GPUs the job needs.</param>
    public int[] PreviewGpus(int count)
    {
        lock (_gate)
        {
            var free = FreeGpus(count);
            return free.Length == count ? free : _options.Gpus.Take(count).ToArray();
        }
    }

    /// <summary>Queues a run (its <see cref="RunEntry.Config"/> must be set) and starts what can start.</summary>
    /// <param name="entry">The run.</param>
    public void Enqueue(RunEntry entry)
    {
        lock (_gate)
        {
            _queue.Add(entry);
        }

        Pump();
    }

    /// <summary>Takes a run out of the queue (it was stopped while queued).</summary>
    /// <param name="entry">The run.</param>
    public void Dequeue(RunEntry entry)
    {
        lock (_gate)
        {
            _queue.Remove(entry);
        }
    }

    /// <summary>Gives a running run found on disk (a reattached trainer) its slot and the GPUs it was handed.</summary>
    /// <param name="entry">The run.</param>
    /// <param name="gpus">Its GPUs.</param>
    public void Hold(RunEntry entry, IEnumerable<int> gpus)
    {
        lock (_gate)
        {
            entry.HoldsSlot = true;
            _active++;
            _gpusInUse.UnionWith(gpus);
        }
    }

    /// <summary>Frees a run's slot and GPUs (once; later calls do nothing) and starts what can start now.</summary>
    /// <param name="entry">The run.</param>
    public void Release(RunEntry entry)
    {
        lock (_gate)
        {
            if (!entry.HoldsSlot)
            {
                return;
            }

            entry.HoldsSlot = false;
            _active--;
            lock (entry.Sync)
            {
                _gpusInUse.ExceptWith(entry.State.Gpus);
            }
        }

        Pump();
    }

    /// <summary>Stops launching: queued runs stay queued on disk for the next executor.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
        }
    }

    /// <summary>Starts queued runs while there are free slots and GPUs, and records why the others wait.</summary>
    public void Pump()
    {
        var launches = new List<(RunEntry Entry, int[] Gpus)>();
        var waiting = new List<(RunEntry Entry, string Reason)>();
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            foreach (var entry in _queue.ToArray())
            {
                var need = entry.Config!.Resources.Gpus;
                if (_active >= _options.MaxConcurrentRuns)
                {
                    waiting.Add((entry, TrainingStatusReasons.WaitingForSlot));
                    continue;
                }

                var free = FreeGpus(need);
                if (free.Length < need)
                {
                    waiting.Add((entry, TrainingStatusReasons.WaitingForGpu));
                    continue;
                }

                _queue.Remove(entry);
                _active++;
                entry.HoldsSlot = true;
                _gpusInUse.UnionWith(free);
                launches.Add((entry, free));
            }
        }

        foreach (var (entry, reason) in waiting)
        {
            var message = reason == TrainingStatusReasons.WaitingForSlot
                ? $"Waiting for a free slot ({SubprocessContext.OptionsKey}:MaxConcurrentRuns is {_options.MaxConcurrentRuns})."
                : $"Waiting for {entry.Config!.Resources.Gpus} free GPU(s) of {_options.Gpus.Count}.";
            RunTransitions.Waiting(entry, reason, message);
        }

        foreach (var (entry, gpus) in launches)
        {
            _ = Task.Run(() => _launch(entry, gpus));
        }
    }

    private int[] FreeGpus(int count) => _options.Gpus.Where(g => !_gpusInUse.Contains(g)).Take(count).ToArray();
}
