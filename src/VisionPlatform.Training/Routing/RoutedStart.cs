namespace VisionPlatform.Training.Routing;

/// <summary>Where a routed start went and why; <see cref="TrainingOperation"/> carries it to the caller.</summary>
/// <param name="Run">The run, on the executor that took it.</param>
/// <param name="RequestedExecutor">The executor the request asked for.</param>
/// <param name="IsFallback">Whether it runs on a fallback because the requested executor was unavailable.</param>
/// <param name="FallbackReason">Why it does not run where requested, or <see langword="null"/>.</param>
internal sealed record RoutedStart(TrainingRun Run, string RequestedExecutor, bool IsFallback = false, string? FallbackReason = null);
