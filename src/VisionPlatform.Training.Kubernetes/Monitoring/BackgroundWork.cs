namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// One piece of background work, started when this is created: <see cref="Stop"/> asks it to end (its token is
/// cancelled), <see cref="Completion"/> says when it has, and <see cref="Dispose"/> releases the token. Stop and Dispose
/// may race each other and be called more than once. The monitor's per-pod log followers and archivers each own one.
/// </summary>
internal sealed class BackgroundWork : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private int _disposed;

    /// <param name="work">The work; it ends when its token is cancelled, and should not fault.</param>
    public BackgroundWork(Func<CancellationToken, Task> work) => Completion = Task.Run(() => work(_stop.Token));

    /// <summary>Completes when the work has ended.</summary>
    public Task Completion { get; }

    /// <summary>Whether the work was asked to stop (or this was disposed).</summary>
    public bool Stopping => Volatile.Read(ref _disposed) != 0 || _stop.IsCancellationRequested;

    /// <summary>Asks the work to end; a no-op once disposed.</summary>
    public void Stop()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            try
            {
                _stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Disposed concurrently: already stopped.
            }
        }
    }

    /// <summary>Asks the work to end and releases its token.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stop.Cancel();
            _stop.Dispose();
        }
    }
}
