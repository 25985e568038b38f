using VisionPlatform.Training.Subprocess.Logs;
using VisionPlatform.Training.Subprocess.Native;
using VisionPlatform.Training.Subprocess.Retention;
using VisionPlatform.Training.Subprocess.Runs;
using VisionPlatform.Training.Subprocess.Scheduling;

namespace VisionPlatform.Training.Subprocess.Monitoring;

/// <summary>
/// The executor's poll loop, every <see cref="SubprocessExecutorOptions.PollInterval"/> on the executor's clock: index
/// new log bytes of live runs, notice the end of processes this process does not reap (reattached after a restart:
/// they are Lost, their leftovers killed, their slot freed), and sweep runs whose retention has ended.
/// </summary>
internal sealed class RunPoller : IDisposable
{
    private readonly SubprocessContext _context;
    private readonly RunCatalog _catalog;
    private readonly LogIndexer _indexer;
    private readonly RunTransitions _transitions;
    private readonly RunScheduler _scheduler;
    private readonly RunRetention _retention;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    public RunPoller(SubprocessContext context, RunCatalog catalog, LogIndexer indexer, RunTransitions transitions, RunScheduler scheduler, RunRetention retention)
    {
        _context = context;
        _catalog = catalog;
        _indexer = indexer;
        _transitions = transitions;
        _scheduler = scheduler;
        _retention = retention;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Ends the loop and waits for it.</summary>
    /// <returns>A task that completes when the loop has ended.</returns>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Ends the loop, waiting for it briefly (it only waits on timers, so it ends at once).</summary>
    public void Stop()
    {
        _stopping.Cancel();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException e) when (e.InnerExceptions.All(x => x is OperationCanceledException))
        {
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stopping.Dispose();

    private async Task LoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            await Task.Delay(_context.Options.PollInterval, _context.Time, token).ConfigureAwait(false);
            try
            {
                foreach (var entry in _catalog.Where(e => e.Indexing || e.PollLiveness))
                {
                    await PollAsync(entry, token).ConfigureAwait(false);
                }

                _retention.SweepIfDue();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One bad run directory must not end the watching of every other run.
                SubprocessLog.MonitorFailed(_context.Logger, e);
            }
        }
    }

    private async Task PollAsync(RunEntry entry, CancellationToken cancellationToken)
    {
        _indexer.Update(entry);
        if (entry.PollLiveness && entry.Identity is { } identity && !entry.IsTerminal &&
            _context.Host.Probe(identity) != ProcessLiveness.Alive)
        {
            entry.PollLiveness = false;
            _context.Host.SignalTree(identity, kill: true);
            await _context.Host.WaitForTreeExitAsync(identity, cancellationToken).ConfigureAwait(false);
            _indexer.Stop(entry);
            _transitions.EndedUnobserved(entry, identity.Pid);
            _scheduler.Release(entry);
        }
    }
}
