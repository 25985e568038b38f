namespace VisionPlatform.Training.Subprocess.Coordination;

/// <summary>
/// What every executor instance over one runs directory in this OS process shares: the lock per run directory (so two
/// instances never start or launch one job twice) and who indexes and who uploads each run (one of each per run).
/// Instances take it when they are created and give it back when they are disposed; the entry of a runs directory is
/// removed when its last instance is gone.
/// </summary>
internal sealed class SharedRunsDirectory
{
    // Besides the process host (ProcessHosts.Current: children are reaped process-wide), this is the executor's only
    // process-wide mutable state, and it has to be: executor instances are created independently (by hand, by several
    // containers) yet must agree about one runs directory. Entries live only while an instance over the directory does.
    private static readonly Dictionary<string, SharedRunsDirectory> Open = new(StringComparer.Ordinal);

    private readonly string _runsDirectory;
    private int _users;

    private SharedRunsDirectory(string runsDirectory)
    {
        _runsDirectory = runsDirectory;
    }

    /// <summary>The lock of each run directory (key: the run directory).</summary>
    public KeyedAsyncLock Locks { get; } = new();

    /// <summary>Which runs' logs are being indexed (one indexer per run).</summary>
    public RunClaims Indexing { get; } = new();

    /// <summary>Which runs are being uploaded (one upload per run).</summary>
    public RunClaims Uploads { get; } = new();

    /// <summary>Joins the instances over a runs directory.</summary>
    /// <param name="runsDirectory">The absolute runs directory.</param>
    /// <returns>The shared state; call <see cref="Leave"/> once when done.</returns>
    public static SharedRunsDirectory Join(string runsDirectory)
    {
        lock (Open)
        {
            if (!Open.TryGetValue(runsDirectory, out var shared))
            {
                shared = new SharedRunsDirectory(runsDirectory);
                Open.Add(runsDirectory, shared);
            }

            shared._users++;
            return shared;
        }
    }

    /// <summary>Leaves; the last instance to leave removes the entry.</summary>
    public void Leave()
    {
        lock (Open)
        {
            if (--_users == 0)
            {
                Open.Remove(_runsDirectory);
            }
        }
    }
}
