using System.Globalization;

namespace VisionPlatform.Training.Testing;

/// <summary>
/// What one case uses to drive the harness: bounded waits over <see cref="ITrainingExecutor.WatchAsync"/> and
/// <see cref="ITrainingEventSource.SubscribeAsync"/>, and checks that fail with a <see cref="ConformanceException"/> naming the case.
/// </summary>
internal sealed class ConformanceSession(string caseName, ExecutorConformanceHarness harness, CancellationToken cancellationToken)
{
    public ExecutorConformanceHarness Harness { get; } = harness;

    public ITrainingExecutor Executor => Harness.Executor;

    public TimeSpan Timeout => Harness.Timeout;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public TrainingJobConfig Job(ConformanceJobRequest request)
    {
        var config = Harness.CreateJob(request);
        Check(config is not null, "the harness's CreateJob returned null");
        Check(config!.JobId == request.JobId, $"the harness's CreateJob returned job id '{config.JobId}' for a request with job id '{request.JobId}'");
        return config;
    }

    public TrainingJobConfig Job(string jobId, ConformanceJobBehavior behavior = ConformanceJobBehavior.Succeed, int variant = 0) =>
        Job(new ConformanceJobRequest { JobId = jobId, Behavior = behavior, Variant = variant });

    public TrainingEventCollector Collect(string jobId) =>
        new(Harness.Events, new TrainingEventSubscription { JobId = jobId, IncludeCurrentState = false });

    public async Task<TrainingRun> StartAsync(TrainingJobConfig config, string what = "StartAsync")
    {
        TrainingRun run;
        try
        {
            run = await Executor.StartAsync(config, CancellationToken).ConfigureAwait(false);
        }
        catch (TrainingException e)
        {
            throw Failure($"{what} of job '{config.JobId}' threw {e.GetType().Name} ({e.Code}): {e.Message}", e);
        }

        Check(run is not null, $"{what} of job '{config.JobId}' returned null");
        return run!;
    }

    public async Task<TrainingRunStatus> StatusAsync(TrainingRun run) =>
        await Executor.GetStatusAsync(run, CancellationToken).ConfigureAwait(false)
        ?? throw Failure($"GetStatusAsync of '{run}' returned null");

    /// <summary>Follows <see cref="ITrainingExecutor.WatchAsync"/> until a status satisfies <paramref name="condition"/>.</summary>
    public async Task<TrainingRunStatus> WaitUntilAsync(TrainingRun run, Func<TrainingRunStatus, bool> condition, string what)
    {
        using var deadline = Deadline();
        TrainingRunStatus? last = null;
        try
        {
            await foreach (var status in Executor.WatchAsync(run, deadline.Token).ConfigureAwait(false))
            {
                last = status;
                if (condition(status))
                {
                    return status;
                }

                if (status.IsTerminal)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!CancellationToken.IsCancellationRequested)
        {
            throw Failure($"job '{run.JobId}' did not become {what} within {Seconds(Timeout)} s; its last status was {Describe(last)}");
        }

        throw Failure($"job '{run.JobId}' never became {what}: WatchAsync ended at {Describe(last)}");
    }

    public Task<TrainingRunStatus> WaitTerminalAsync(TrainingRun run) => WaitUntilAsync(run, s => s.IsTerminal, "terminal");

    public Task<TrainingRunStatus> WaitRunningAsync(TrainingRun run) => WaitUntilAsync(run, s => s.Phase == TrainingPhase.Running, "Running");

    /// <summary>Every status <see cref="ITrainingExecutor.WatchAsync"/> yields, until it ends (it must end with a terminal status).</summary>
    public async Task<List<TrainingRunStatus>> WatchAllAsync(TrainingRun run)
    {
        using var deadline = Deadline();
        var statuses = new List<TrainingRunStatus>();
        try
        {
            await foreach (var status in Executor.WatchAsync(run, deadline.Token).ConfigureAwait(false))
            {
                statuses.Add(status);
            }
        }
        catch (OperationCanceledException) when (!CancellationToken.IsCancellationRequested)
        {
            throw Failure($"WatchAsync of job '{run.JobId}' did not end within {Seconds(Timeout)} s; it yielded {Describe(statuses)}");
        }

        return statuses;
    }

    public async Task<List<TrainingLogLine>> LogsAsync(TrainingRun run, TrainingLogOptions? options = null)
    {
        using var deadline = Deadline();
        var lines = new List<TrainingLogLine>();
        try
        {
            await foreach (var line in Executor.GetLogsAsync(run, options, deadline.Token).ConfigureAwait(false))
            {
                lines.Add(line);
            }
        }
        catch (OperationCanceledException) when (!CancellationToken.IsCancellationRequested)
        {
            throw Failure($"GetLogsAsync of job '{run.JobId}' did not end within {Seconds(Timeout)} s after {lines.Count} line(s)");
        }

        return lines;
    }

    public async Task<TrainingRunStatus> StopAsync(TrainingRun run)
    {
        using var deadline = Deadline();
        try
        {
            return await Executor.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(10) }, deadline.Token).ConfigureAwait(false)
                ?? throw Failure($"StopAsync of '{run}' returned null");
        }
        catch (OperationCanceledException) when (!CancellationToken.IsCancellationRequested)
        {
            throw Failure($"StopAsync of job '{run.JobId}' did not return within {Seconds(Timeout)} s");
        }
    }

    public async Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery query) =>
        await Executor.ListAsync(query, CancellationToken).ConfigureAwait(false) ?? throw Failure("ListAsync returned null");

    /// <summary>Runs <paramref name="action"/> and returns the <typeparamref name="TException"/> it must throw.</summary>
    public async Task<TException> ThrowsAsync<TException>(Func<Task> action, string what)
        where TException : Exception
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (TException e)
        {
            return e;
        }
        catch (Exception e) when (e is not ConformanceException and not OperationCanceledException)
        {
            throw Failure($"{what}: expected {typeof(TException).Name}, but it threw {e.GetType().Name}: {e.Message}", e);
        }

        throw Failure($"{what}: expected {typeof(TException).Name}, but it returned normally");
    }

    public void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw Failure(message);
        }
    }

    public void CheckStatus(TrainingRunStatus status, TrainingPhase phase, string reason, string what) =>
        Check(status.Phase == phase && status.Reason == reason, $"{what}: expected {phase}/{reason}, got {Describe(status)}");

    public ConformanceException Failure(string message, Exception? inner = null)
    {
        var text = $"[{caseName}] executor '{Executor.Name}': {message}.";
        return inner is null ? new ConformanceException(text) : new ConformanceException(text, inner);
    }

    public static string Describe(TrainingRunStatus? status) => status is null
        ? "(none)"
        : string.Create(CultureInfo.InvariantCulture, $"{status.Phase}/{status.Reason} (exit code {status.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"}, message '{status.Message}')");

    public static string Describe(IEnumerable<TrainingRunStatus> statuses)
    {
        var text = string.Join(" -> ", statuses.Select(s => Describe(s)));
        return text.Length == 0 ? "nothing" : text;
    }

    private CancellationTokenSource Deadline()
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken);
        deadline.CancelAfter(Timeout);
        return deadline;
    }

    private static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
}
