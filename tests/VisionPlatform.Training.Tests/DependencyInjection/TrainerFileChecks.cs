global using static VisionPlatform.Training.Tests.DependencyInjection.TrainerFileChecks;

namespace VisionPlatform.Training.Tests.DependencyInjection;

/// <summary>For tests about other options: the default <c>train.py</c> does not exist in the test's directory.</summary>
internal static class TrainerFileChecks
{
    /// <summary>Switches off the start-up check of the trainer's interpreter and script (see <c>TrainerFileValidationTests</c>).</summary>
    public static void NoTrainerFiles(VisionPlatform.Training.Subprocess.SubprocessExecutorOptions options) => options.ValidateTrainerOnStart = false;
}
