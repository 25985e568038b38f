using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.TestSupport;

/// <summary>
/// Conformance jobs for the demo trainer (samples/trainer/train.py), shared by every harness that runs it (subprocess,
/// Kubernetes test cluster, the remote executor sample): the behaviour a case asks for maps to the trainer's
/// <c>advanced_config</c> knobs. Compiled into each test project that links it.
/// </summary>
internal static class DemoTrainerJobs
{
    /// <summary>A job builder for <paramref name="request"/>: quick epochs, a long run that waits to be stopped, or a failure with the request's exit code.</summary>
    public static TrainingJobConfigBuilder For(ConformanceJobRequest request)
    {
        var builder = SampleJobs.ForConformance(request);
        switch (request.Behavior)
        {
            case ConformanceJobBehavior.Succeed:
                builder.WithAdvancedConfig(new { epoch_seconds = 0.1 });
                break;
            case ConformanceJobBehavior.RunUntilStopped:
                builder.Epochs = 10_000;
                builder.WithAdvancedConfig(new { epoch_seconds = 1.0 });
                break;
            default:
                builder.Epochs = 1;
                builder.WithAdvancedConfig(new { exit_code = request.ExitCode });
                break;
        }

        return builder;
    }
}
