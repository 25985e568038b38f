using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training;

/// <summary>
/// The one entry point for hosts: an <see cref="ITrainingExecutor"/> that starts new runs on the default executor
/// (<c>Training:DefaultExecutor</c>) and sends every other operation to the executor recorded in the run's handle,
/// so runs keep working after the default changes.
/// </summary>
public sealed class TrainingExecutorManager : ITrainingExecutor
{
    private readonly IServiceProvider _services;
    private readonly IOptionsMonitor<TrainingOptions> _options;
    private readonly IReadOnlyList<string> _names;

    /// <summary>Creates the manager over the registered executors.</summary>
    /// <param name="services">Resolves executors by name.</param>
    /// <param name="registrations">The registered executor names, in registration order.</param>
    /// <param name="options">The root options (default executor).</param>
    public TrainingExecutorManager(
        IServiceProvider services,
        IEnumerable<TrainingExecutorRegistration> registrations,
        IOptionsMonitor<TrainingOptions> options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(registrations);
        ArgumentNullException.ThrowIfNull(options);
        _services = services;
        _options = options;
        _names = registrations.Select(r => r.Name).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
    }

    /// <summary>The manager's name; runs it starts carry the name of the executor that really runs them.</summary>
    public string Name => "manager";

    /// <summary>The registered executor names, in registration order.</summary>
    public IReadOnlyList<string> ExecutorNames => _names;

    /// <summary>The executor new runs go to.</summary>
    public string DefaultExecutorName => _options.CurrentValue.DefaultExecutor;

    /// <summary>Returns a registered executor by name.</summary>
    /// <param name="name">The executor's name.</param>
    /// <returns>The executor.</returns>
    /// <exception cref="TrainingException"><see cref="TrainingErrorCode.UnknownExecutor"/> when no executor has that name.</exception>
    public ITrainingExecutor GetExecutor(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var registered = _names.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
        return registered is null
            ? throw new TrainingException(
                TrainingErrorCode.UnknownExecutor,
                $"No training executor named '{name}' is registered. Registered: {string.Join(", ", _names)}. Register it (for example .AddKubernetes()) or fix Training:DefaultExecutor.")
            : _services.GetRequiredKeyedService<ITrainingExecutor>(registered);
    }

    /// <inheritdoc />
    public Task<TrainingRun> StartAsync(TrainingJobConfig config, CancellationToken cancellationToken = default) =>
        StartAsync(config, executorName: null, cancellationToken);

    /// <summary>Starts a run on a named executor, or on the default when <paramref name="executorName"/> is null.</summary>
    /// <param name="config">The job.</param>
    /// <param name="executorName">The executor to use; <see langword="null"/> for <c>Training:DefaultExecutor</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The run's handle.</returns>
    public Task<TrainingRun> StartAsync(TrainingJobConfig config, string? executorName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        return GetExecutor(executorName ?? DefaultExecutorName).StartAsync(config, cancellationToken);
    }

    /// <inheritdoc />
    public Task<TrainingRunStatus> GetStatusAsync(TrainingRun run, CancellationToken cancellationToken = default) =>
        For(run).GetStatusAsync(run, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<TrainingRunStatus> WatchAsync(TrainingRun run, CancellationToken cancellationToken = default) =>
        For(run).WatchAsync(run, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<TrainingLogLine> GetLogsAsync(TrainingRun run, TrainingLogOptions? options = null, CancellationToken cancellationToken = default) =>
        For(run).GetLogsAsync(run, options, cancellationToken);

    /// <inheritdoc />
    public Task<TrainingRunStatus> StopAsync(TrainingRun run, TrainingStopOptions? options = null, CancellationToken cancellationToken = default) =>
        For(run).StopAsync(run, options, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query = null, CancellationToken cancellationToken = default)
    {
        var all = new List<TrainingRunStatus>();
        foreach (var name in _names)
        {
            all.AddRange(await GetExecutor(name).ListAsync(query, cancellationToken).ConfigureAwait(false));
        }

        return all;
    }

    /// <summary>Asks each executor in registration order and returns the first run with this job id.</summary>
    /// <param name="jobId">The caller's job id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The run, or <see langword="null"/>.</returns>
    public async Task<TrainingRun?> FindAsync(string jobId, CancellationToken cancellationToken = default)
    {
        foreach (var name in _names)
        {
            var run = await GetExecutor(name).FindAsync(jobId, cancellationToken).ConfigureAwait(false);
            if (run is not null)
            {
                return run;
            }
        }

        return null;
    }

    /// <summary>The default executor's availability.</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The availability.</returns>
    public Task<ExecutorAvailability> CheckAvailabilityAsync(CancellationToken cancellationToken = default) =>
        GetExecutor(DefaultExecutorName).CheckAvailabilityAsync(cancellationToken);

    private ITrainingExecutor For(TrainingRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return GetExecutor(run.ExecutorName);
    }
}
