namespace VisionPlatform.Training.Benchmarks;

/// <summary>One named measurement. Results are printed as <c>name: value</c> lines.</summary>
internal interface IBenchmarkScenario
{
    /// <summary>The command-line name, e.g. <c>spawn</c>.</summary>
    string Name { get; }

    /// <summary>One line for the usage text.</summary>
    string Description { get; }

    /// <summary>Runs the scenario; <paramref name="progress"/> gets human notes (stderr), the results go to stdout.</summary>
    Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkOptions options, TextWriter progress, CancellationToken cancellationToken);
}

/// <summary>One <c>name: value</c> result line.</summary>
internal readonly record struct BenchmarkResult(string Name, string Value)
{
    public static BenchmarkResult Of(string name, double value, string format = "0.00") =>
        new(name, value.ToString(format, System.Globalization.CultureInfo.InvariantCulture));

    public override string ToString() => $"{Name}: {Value}";
}
