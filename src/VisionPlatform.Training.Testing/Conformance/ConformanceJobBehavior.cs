namespace VisionPlatform.Training.Testing;

/// <summary>What the trainer of a conformance job does once the executor runs it.</summary>
public enum ConformanceJobBehavior
{
    /// <summary>Reports <see cref="ConformanceJobRequest.ProgressEpochs"/> epochs of progress (one <c>VP_PROGRESS</c> line each), writes its log lines and exits with code 0.</summary>
    Succeed,

    /// <summary>Keeps running (writing log lines now and then) until the run is stopped; it must not end on its own within the harness's <see cref="ExecutorConformanceHarness.Timeout"/>.</summary>
    RunUntilStopped,

    /// <summary>Exits with <see cref="ConformanceJobRequest.ExitCode"/> (never 0 or 2), as a trainer whose training failed.</summary>
    Fail,
}
