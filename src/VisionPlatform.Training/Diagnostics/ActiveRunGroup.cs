namespace VisionPlatform.Training.Diagnostics;

/// <summary>Live runs that share an executor, phase and reason, as the event hub tracks them.</summary>
/// <param name="Executor">The executor that runs them.</param>
/// <param name="Phase"><see cref="TrainingPhase.Pending"/> or <see cref="TrainingPhase.Running"/>.</param>
/// <param name="Reason">Their status reason, as the executor reported it.</param>
/// <param name="Count">How many runs.</param>
/// <param name="OldestSince">The earliest <c>CreatedAt</c> (pending) or <c>StartedAt</c> (running) among them, when known.</param>
internal readonly record struct ActiveRunGroup(string Executor, TrainingPhase Phase, string Reason, int Count, DateTimeOffset? OldestSince);
