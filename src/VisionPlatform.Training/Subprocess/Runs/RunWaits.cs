namespace VisionPlatform.Training.Subprocess.Runs;

/// <summary>Waits on a run's signals with a timeout on the executor's clock.</summary>
internal static class RunWaits
{
    /// <summary>Waits until a signal completes or a timeout passes, whichever is first.</summary>
    /// <param name="signal">The signal (for example <see cref="RunEntry.Changed"/>).</param>
    /// <param name="timeout">The longest wait.</param>
    /// <param name="time">The clock.</param>
    /// <param name="cancellationToken">Cancels waiting (then throws).</param>
    public static async Task AnyAsync(Task signal, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timer = Task.Delay(timeout, time, linked.Token);
        await Task.WhenAny(signal, timer).ConfigureAwait(false);
        await linked.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Waits until a run is terminal or a timeout passes.</summary>
    /// <param name="entry">The run.</param>
    /// <param name="timeout">The longest wait.</param>
    /// <param name="time">The clock.</param>
    /// <returns>Whether the run is terminal.</returns>
    public static async Task<bool> TerminalAsync(RunEntry entry, TimeSpan timeout, TimeProvider time)
    {
        if (entry.Terminal.IsCompleted)
        {
            return true;
        }

        using var delay = new CancellationTokenSource();
        var timer = Task.Delay(timeout, time, delay.Token);
        var first = await Task.WhenAny(entry.Terminal, timer).ConfigureAwait(false);
        await delay.CancelAsync().ConfigureAwait(false);
        return first == entry.Terminal;
    }
}
