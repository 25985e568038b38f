namespace VisionPlatform.Training.Testing;

/// <summary>
/// What a conformance case asks <see cref="ExecutorConformanceHarness.CreateJob"/> for: a valid job with this id, labels
/// and project whose trainer behaves as <see cref="Behavior"/> says.
/// </summary>
public sealed record ConformanceJobRequest
{
    /// <summary>The job id the config must carry.</summary>
    public required string JobId { get; init; }

    /// <summary>What the trainer does (default <see cref="ConformanceJobBehavior.Succeed"/>).</summary>
    public ConformanceJobBehavior Behavior { get; init; } = ConformanceJobBehavior.Succeed;

    /// <summary>How many epochs a <see cref="ConformanceJobBehavior.Succeed"/> job reports, each with one progress line (default 2; usually the config's <c>Epochs</c>).</summary>
    public int ProgressEpochs { get; init; } = 2;

    /// <summary>The exit code of a <see cref="ConformanceJobBehavior.Fail"/> job (default 3).</summary>
    public int ExitCode { get; init; } = 3;

    /// <summary>Labels the config must carry (default none).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The project id the config must carry (default none).</summary>
    public string? ProjectId { get; init; }

    /// <summary>
    /// Distinguishes configs that are otherwise equal: two requests that differ only in their variant must give configs
    /// with different <see cref="TrainingJobConfig.ConfigHash"/>es (for example by a different learning rate), equal
    /// requests equal hashes. Default 0.
    /// </summary>
    public int Variant { get; init; }
}
