using System.Globalization;

namespace VisionPlatform.Training.Testing;

/// <summary>
/// Subscribes to an <see cref="ITrainingEventSource"/> at once and records every event in the background, so a test can
/// start runs and then wait, with a timeout, until the events it expects have arrived:
/// <code>
/// await using var events = new TrainingEventCollector(source, new TrainingEventSubscription { JobId = "job-1" });
/// var run = await executor.StartAsync(config);
/// await events.WaitForPhaseAsync("job-1", TrainingPhase.Succeeded, TimeSpan.FromSeconds(30));
/// </code>
/// </summary>
/// <remarks>
/// The subscriber is registered when the constructor returns, so no event published afterwards is missed. Waits wake on
/// each new event (no polling); their timeouts are measured in real time (<see cref="TimeProvider.System"/> unless given),
/// so a host on a <c>FakeTimeProvider</c> does not stop them. Thread-safe.
/// </remarks>
public sealed class TrainingEventCollector : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<TrainingJobEvent> _events = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly IAsyncEnumerator<TrainingJobEvent> _enumerator;
    private readonly TimeProvider _time;
    private readonly Task _pump;
    private TaskCompletionSource _changed = NewSignal();
    private Exception? _failure;

    /// <summary>Subscribes and starts recording.</summary>
    /// <param name="source">The event source.</param>
    /// <param name="subscription">What to receive; <see langword="null"/> for the source's defaults.</param>
    /// <param name="timeProvider">The clock for wait timeouts; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="TrainingValidationException">The subscription's settings are out of range.</exception>
    public TrainingEventCollector(ITrainingEventSource source, TrainingEventSubscription? subscription = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _time = timeProvider ?? TimeProvider.System;
        _enumerator = source.SubscribeAsync(subscription, _stop.Token).GetAsyncEnumerator(_stop.Token);

        // The first MoveNextAsync runs the subscription up to its first wait, which registers the subscriber.
        _pump = PumpAsync(_enumerator.MoveNextAsync());
    }

    /// <summary>The events received so far, in arrival order.</summary>
    public IReadOnlyList<TrainingJobEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return _events.ToArray();
            }
        }
    }

    /// <summary>Why the subscription ended early (for example <see cref="TrainingErrorCode.SubscriberOverflow"/>), or <see langword="null"/>.</summary>
    public Exception? Failure
    {
        get
        {
            lock (_gate)
            {
                return _failure;
            }
        }
    }

    /// <summary>The events of one run, of one kind, in arrival order.</summary>
    /// <typeparam name="T">The event kind, for example <see cref="TrainingPhaseChangedEvent"/>.</typeparam>
    /// <param name="jobId">The job id.</param>
    /// <returns>The events.</returns>
    public IReadOnlyList<T> OfRun<T>(string jobId)
        where T : TrainingRunEvent
    {
        ArgumentNullException.ThrowIfNull(jobId);
        return Events.OfType<T>().Where(e => string.Equals(e.JobId, jobId, StringComparison.Ordinal)).ToArray();
    }

    /// <summary>Waits until the events received so far satisfy <paramref name="condition"/>.</summary>
    /// <param name="condition">Checked with every event received so far, each time one arrives.</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The events received when the condition held.</returns>
    /// <exception cref="TimeoutException">The condition did not hold in time; the message lists the events seen.</exception>
    /// <exception cref="TrainingException">The subscription ended with an error before the condition held (for example <see cref="TrainingErrorCode.SubscriberOverflow"/>).</exception>
    public async Task<IReadOnlyList<TrainingJobEvent>> WaitForAsync(Func<IReadOnlyList<TrainingJobEvent>, bool> condition, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        using var timer = new CancellationTokenSource(timeout, _time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        while (true)
        {
            IReadOnlyList<TrainingJobEvent> seen;
            Task changed;
            Exception? failure;
            lock (_gate)
            {
                seen = _events.ToArray();
                changed = _changed.Task;
                failure = _failure;
            }

            if (condition(seen))
            {
                return seen;
            }

            if (failure is not null)
            {
                throw failure as TrainingException
                    ?? new TrainingException(TrainingErrorCode.ExecutorFailure, "The subscription ended with an error before the expected events arrived: " + failure.Message, failure);
            }

            if (_pump.IsCompleted)
            {
                throw new TimeoutException("The subscription ended before the expected events arrived. Seen: " + Describe(seen));
            }

            try
            {
                await changed.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"The expected events did not arrive within {timeout.TotalSeconds:0.#} s. Seen: {Describe(Events)}"));
            }
        }
    }

    /// <summary>Waits for the first event of a kind that satisfies <paramref name="condition"/>.</summary>
    /// <typeparam name="T">The event kind.</typeparam>
    /// <param name="condition">Which event.</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The event.</returns>
    /// <exception cref="TimeoutException">No such event arrived in time; the message lists the events seen.</exception>
    public async Task<T> WaitForAsync<T>(Func<T, bool> condition, TimeSpan timeout, CancellationToken cancellationToken = default)
        where T : TrainingJobEvent
    {
        ArgumentNullException.ThrowIfNull(condition);
        var events = await WaitForAsync(e => e.OfType<T>().Any(condition), timeout, cancellationToken).ConfigureAwait(false);
        return events.OfType<T>().First(condition);
    }

    /// <summary>Waits for a run's <see cref="TrainingPhaseChangedEvent"/> into <paramref name="phase"/>.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="phase">The phase.</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The event.</returns>
    /// <exception cref="TimeoutException">No such event arrived in time; the message lists the events seen.</exception>
    public Task<TrainingPhaseChangedEvent> WaitForPhaseAsync(string jobId, TrainingPhase phase, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        return WaitForAsync<TrainingPhaseChangedEvent>(e => string.Equals(e.JobId, jobId, StringComparison.Ordinal) && e.Status.Phase == phase, timeout, cancellationToken);
    }

    /// <summary>Waits for a run's first terminal <see cref="TrainingPhaseChangedEvent"/>.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The event.</returns>
    /// <exception cref="TimeoutException">No such event arrived in time; the message lists the events seen.</exception>
    public Task<TrainingPhaseChangedEvent> WaitForTerminalAsync(string jobId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        return WaitForAsync<TrainingPhaseChangedEvent>(e => string.Equals(e.JobId, jobId, StringComparison.Ordinal) && e.Status.IsTerminal, timeout, cancellationToken);
    }

    /// <summary>One line per event, for failure messages: <c>job-1#3 phase Running/Running</c>.</summary>
    /// <param name="events">The events.</param>
    /// <returns>The description.</returns>
    public static string Describe(IEnumerable<TrainingJobEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var text = string.Join("; ", events.Select(Describe));
        return text.Length == 0 ? "(none)" : text;
    }

    /// <summary>One event, for failure messages.</summary>
    /// <param name="trainingEvent">The event.</param>
    /// <returns>The description.</returns>
    public static string Describe(TrainingJobEvent trainingEvent)
    {
        ArgumentNullException.ThrowIfNull(trainingEvent);
        return trainingEvent switch
        {
            TrainingPhaseChangedEvent p => $"{p.JobId}#{p.Sequence} phase {p.Status.Phase}/{p.Status.Reason}",
            TrainingProgressEvent p => string.Create(CultureInfo.InvariantCulture, $"{p.JobId}#{p.Sequence} progress {p.Progress.Epoch}/{p.Progress.TotalEpochs}"),
            TrainingLogEvent l => $"{l.JobId}#{l.Sequence} log {l.Line.Text}",
            TrainingFallbackEvent f => $"{f.JobId}#{f.Sequence} fallback {f.RequestedExecutor}->{f.ExecutorUsed}",
            TrainingArtifactUploadEvent a => $"{a.JobId}#{a.Sequence} artifacts {a.Upload.State}",
            TrainingEventsDroppedEvent d => string.Create(CultureInfo.InvariantCulture, $"dropped {d.Count}"),
            _ => trainingEvent.GetType().Name,
        };
    }

    /// <summary>Ends the subscription.</summary>
    /// <returns>A task that completes when the subscription has ended.</returns>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _pump.ConfigureAwait(false);
        await _enumerator.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task PumpAsync(ValueTask<bool> first)
    {
        try
        {
            if (!await first.ConfigureAwait(false))
            {
                return;
            }

            Add(_enumerator.Current);
            while (await _enumerator.MoveNextAsync().ConfigureAwait(false))
            {
                Add(_enumerator.Current);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Recorded, not thrown: a wait reports it, and disposing the collector never fails because the source went first.
            lock (_gate)
            {
                _failure = e;
            }
        }
        finally
        {
            Signal();
        }
    }

    private void Add(TrainingJobEvent item)
    {
        lock (_gate)
        {
            _events.Add(item);
        }

        Signal();
    }

    private void Signal()
    {
        TaskCompletionSource previous;
        lock (_gate)
        {
            previous = _changed;
            _changed = NewSignal();
        }

        previous.TrySetResult();
    }
}
