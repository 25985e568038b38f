using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Routing;

/// <summary>
/// The registered executors by name (keyed <see cref="ITrainingExecutor"/> singletons), the default executor and the
/// fallback chain. Names compare case-insensitively.
/// </summary>
internal sealed class ExecutorDirectory
{
    private readonly IServiceProvider _services;
    private readonly IOptionsMonitor<TrainingOptions> _options;
    private readonly string[] _names;

    public ExecutorDirectory(IServiceProvider services, IEnumerable<TrainingExecutorRegistration> registrations, IOptionsMonitor<TrainingOptions> options)
    {
        _services = services;
        _options = options;
        _names = registrations.Select(r => r.Name).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
    }

    /// <summary>The registered executor names, in registration order.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>The executor new runs go to unless a request names another.</summary>
    public string DefaultExecutorName => _options.CurrentValue.DefaultExecutor ?? string.Empty;

    /// <summary>The default, then the configured fallbacks.</summary>
    public IReadOnlyList<string> DefaultChain => [DefaultExecutorName, .. FallbacksFor(DefaultExecutorName, noFallback: false)];

    public TrainingOptions Options => _options.CurrentValue;

    public bool IsRegistered(string name) => _names.Contains(name, StringComparer.OrdinalIgnoreCase);

    /// <summary>The registered spelling of a name.</summary>
    /// <exception cref="TrainingException"><see cref="TrainingErrorCode.UnknownExecutor"/> when no executor has that name.</exception>
    public string Resolve(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _names.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new TrainingException(
                TrainingErrorCode.UnknownExecutor,
                $"No training executor named '{name}' is registered. Registered: {(_names.Length == 0 ? "none" : string.Join(", ", _names))}. Register it (for example .AddSubprocess() or .AddKubernetes()) or fix Training:DefaultExecutor, Training:Fallback:Executors or the request's executor.");
    }

    public ITrainingExecutor Get(string name) => _services.GetRequiredKeyedService<ITrainingExecutor>(Resolve(name));

    public ITrainingExecutor For(TrainingRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return Get(run.ExecutorName);
    }

    /// <summary>The fallbacks for a start on <paramref name="requested"/>, in order (none when disabled).</summary>
    public List<string> FallbacksFor(string requested, bool noFallback)
    {
        var f = _options.CurrentValue.Fallback;
        return !f.Enabled || noFallback
            ? []
            : f.Executors.Where(n => !string.Equals(n, requested, StringComparison.OrdinalIgnoreCase))
                .Distinct(StringComparer.OrdinalIgnoreCase)
                .ToList();
    }
}
