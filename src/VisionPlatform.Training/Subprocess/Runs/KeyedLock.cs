namespace VisionPlatform.Training.Subprocess.Runs;

/// <summary>
/// One async lock per key (a run directory), process-wide, so that two executor instances over the same runs directory
/// in one process never start or launch the same job twice. Entries are removed when nobody holds or waits for them.
/// </summary>
internal static class KeyedLock
{
    private static readonly Dictionary<string, (SemaphoreSlim Gate, int Users)> Locks = new(StringComparer.Ordinal);

    /// <summary>Acquires the lock for a key.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>Releases the lock when disposed.</returns>
    public static async Task<IDisposable> AcquireAsync(string key, CancellationToken cancellationToken)
    {
        SemaphoreSlim gate;
        lock (Locks)
        {
            (SemaphoreSlim Gate, int Users) entry = Locks.TryGetValue(key, out var e) ? e : (new SemaphoreSlim(1, 1), 0);
            Locks[key] = (entry.Gate, entry.Users + 1);
            gate = entry.Gate;
        }

        try
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Leave(key);
            throw;
        }

        return new Releaser(key, gate);
    }

    private static void Leave(string key)
    {
        lock (Locks)
        {
            var entry = Locks[key];
            if (entry.Users == 1)
            {
                Locks.Remove(key);
                entry.Gate.Dispose();
            }
            else
            {
                Locks[key] = (entry.Gate, entry.Users - 1);
            }
        }
    }

    private sealed class Releaser(string key, SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
                Leave(key);
            }
        }
    }
}
