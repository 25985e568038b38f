using System.Diagnostics;

namespace VisionPlatform.Training.Benchmarks;

/// <summary>Samples this process's working set every few milliseconds and keeps the highest value seen.</summary>
internal sealed class MemorySampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _max;

    public MemorySampler()
    {
        Baseline = Current();
        _max = Baseline;
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var now = Current();
                if (now > Interlocked.Read(ref _max))
                {
                    Interlocked.Exchange(ref _max, now);
                }

                try
                {
                    await Task.Delay(10, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
    }

    public long Baseline { get; }

    public long GrowthBytes => Math.Max(0, Interlocked.Read(ref _max) - Baseline);

    public static long Current()
    {
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }

    public static long Peak()
    {
        using var self = Process.GetCurrentProcess();
        return self.PeakWorkingSet64;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
