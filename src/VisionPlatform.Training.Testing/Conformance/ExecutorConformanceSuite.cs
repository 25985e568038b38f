namespace VisionPlatform.Training.Testing;

/// <summary>
/// The behaviour every <see cref="ITrainingExecutor"/> must have, as named cases that any test framework can run, in the
/// manner of provider specification tests. An executor author implements an <see cref="ExecutorConformanceHarness"/> and
/// runs each case against a fresh harness; with xunit:
/// <code>
/// public static TheoryData&lt;string&gt; Cases() =&gt; new(ExecutorConformanceSuite.CasesFor(MyHarness.Capabilities).Select(c =&gt; c.Name));
///
/// [Theory]
/// [MemberData(nameof(Cases))]
/// public async Task Conforms(string name)
/// {
///     await using var harness = new MyHarness();
///     await ExecutorConformanceSuite.Get(name).RunAsync(harness);
/// }
/// </code>
/// A case that finds the executor breaking the contract throws <see cref="ConformanceException"/> with what it expected and what happened.
/// </summary>
public static partial class ExecutorConformanceSuite
{
    private static readonly ExecutorConformanceCase[] AllCases =
    [
        .. LifecycleCases(),
        .. JobIdRuleCases(),
        .. QueryCases(),
        .. EventCases(),
    ];

    /// <summary>Every case, in a stable order.</summary>
    public static IReadOnlyList<ExecutorConformanceCase> Cases => AllCases;

    /// <summary>The cases that apply to an executor with these capabilities (every case that needs nothing more).</summary>
    /// <param name="capabilities">What the harness declares, usually its <see cref="ExecutorConformanceHarness.Capabilities"/>.</param>
    /// <returns>The cases.</returns>
    public static IReadOnlyList<ExecutorConformanceCase> CasesFor(ExecutorConformanceCapabilities capabilities) =>
        AllCases.Where(c => (capabilities & c.Requires) == c.Requires).ToArray();

    /// <summary>The case with this name.</summary>
    /// <param name="name">The case's <see cref="ExecutorConformanceCase.Name"/>.</param>
    /// <returns>The case.</returns>
    /// <exception cref="ArgumentException">No case has that name.</exception>
    public static ExecutorConformanceCase Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return AllCases.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.Ordinal))
            ?? throw new ArgumentException($"No conformance case is named '{name}'. Names: {string.Join(", ", AllCases.Select(c => c.Name))}.", nameof(name));
    }

    private static ExecutorConformanceCase Case(string name, string description, Func<ConformanceSession, Task> run, ExecutorConformanceCapabilities requires = ExecutorConformanceCapabilities.None) =>
        new(name, description, requires, (harness, cancellationToken) => run(new ConformanceSession(name, harness, cancellationToken)));
}
