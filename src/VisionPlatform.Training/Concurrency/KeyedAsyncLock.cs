namespace VisionPlatform.Training;

/// <summary>
/// One asynchronous lock per key: work for one key runs one at a time, work for different keys runs concurrently.
/// Routing serialises the starts of one job id with it; the subprocess executor serialises the changes of one run
/// directory. A key's entry exists only while someone holds or waits for it, so the table does not grow with the
/// number of keys ever used.
/// </summary>
internal sealed class KeyedAsyncLock
{
    private readonly Dictionary<string, Holder> _holders;

    /// <summary>Creates the lock table with ordinal key comparison.</summary>
    public KeyedAsyncLock()
        : this(StringComparer.Ordinal)
    {
    }

    /// <summary>Creates the lock table.</summary>
    /// <param name="comparer">How keys are compared.</param>
    public KeyedAsyncLock(IEqualityComparer<string> comparer)
    {
        _holders = new(comparer);
    }

    /// <summary>The number of keys held or waited for now (an empty table once every lock is released).</summary>
    public int Count
    {
        get
        {
            lock (_holders)
            {
                return _holders.Count;
            }
        }
    }

    /// <summary>Waits for the lock of a key.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels waiting; the lock is then not taken.</param>
    /// <returns>Releases the lock when disposed (disposing twice releases once).</returns>
    public async Task<IDisposable> AcquireAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var holder = Enter(key);
        try
        {
            await holder.Semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Release(key, holder, entered: false);
            throw;
        }

        return new Releaser(this, key, holder);
    }

    /// <summary>Takes the lock of a key only if nobody holds it now (never waits).</summary>
    /// <param name="key">The key.</param>
    /// <returns>Releases the lock when disposed, or <see langword="null"/> when it is held by someone else.</returns>
    public IDisposable? TryAcquire(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var holder = Enter(key);
        if (!holder.Semaphore.Wait(0))
        {
            Release(key, holder, entered: false);
            return null;
        }

        return new Releaser(this, key, holder);
    }

    private Holder Enter(string key)
    {
        lock (_holders)
        {
            if (!_holders.TryGetValue(key, out var holder))
            {
                holder = new Holder();
                _holders.Add(key, holder);
            }

            holder.References++;
            return holder;
        }
    }

    private void Release(string key, Holder holder, bool entered)
    {
        if (entered)
        {
            holder.Semaphore.Release();
        }

        lock (_holders)
        {
            if (--holder.References == 0)
            {
                _holders.Remove(key);
                holder.Semaphore.Dispose();
            }
        }
    }

    private sealed class Holder
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        public int References { get; set; }
    }

    private sealed class Releaser(KeyedAsyncLock owner, string key, Holder holder) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Release(key, holder, entered: true);
            }
        }
    }
}
