namespace VisionPlatform.Training.Testing;

/// <summary>One named check of <see cref="ExecutorConformanceSuite"/>.</summary>
public sealed class ExecutorConformanceCase
{
    private readonly Func<ExecutorConformanceHarness, CancellationToken, Task> _run;

    internal ExecutorConformanceCase(string name, string description, ExecutorConformanceCapabilities requires, Func<ExecutorConformanceHarness, CancellationToken, Task> run)
    {
        Name = name;
        Description = description;
        Requires = requires;
        _run = run;
    }

    /// <summary>The case's stable name, for example <c>Start_returns_a_run_naming_the_executor_and_job</c>; use it as the test's display name.</summary>
    public string Name { get; }

    /// <summary>What the case checks, in one sentence.</summary>
    public string Description { get; }

    /// <summary>The capabilities the harness must declare for this case to apply (<see cref="ExecutorConformanceCapabilities.None"/> for most).</summary>
    public ExecutorConformanceCapabilities Requires { get; }

    /// <summary>The check itself: runs the case against a fresh harness; throws <see cref="ConformanceException"/> when the executor does not conform.</summary>
    public Func<ExecutorConformanceHarness, CancellationToken, Task> Run => RunAsync;

    /// <summary>Runs the case against a fresh harness.</summary>
    /// <param name="harness">The harness; create one per case.</param>
    /// <param name="cancellationToken">Cancels the case.</param>
    /// <returns>A task that completes when the case passed.</returns>
    /// <exception cref="ConformanceException">The executor does not conform, or the harness lacks a capability the case needs.</exception>
    public Task RunAsync(ExecutorConformanceHarness harness, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(harness);
        if ((harness.Capabilities & Requires) != Requires)
        {
            throw new ConformanceException($"Case '{Name}' needs the capabilities {Requires}, but {harness.GetType().Name} declares {harness.Capabilities}. List the cases with ExecutorConformanceSuite.CasesFor(capabilities).");
        }

        return _run(harness, cancellationToken);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
