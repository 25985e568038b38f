namespace VisionPlatform.Training.Routing;

/// <summary>
/// Serialises work per key (here: per job id), so two concurrent starts of the same job cannot make different routing
/// decisions and land on two executors. Locks are created on demand and removed when nobody holds or waits for them.
/// </summary>
internal sealed class KeyedAsyncLock
{
    private readonly Dictionary<string, Holder> _holders = new(StringComparer.Ordinal);

    public async Task<IDisposable> AcquireAsync(string key, CancellationToken cancellationToken)
    {
        Holder holder;
        lock (_holders)
        {
            if (!_holders.TryGetValue(key, out holder!))
            {
                holder = new Holder();
                _holders.Add(key, holder);
            }

            holder.References++;
        }

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
