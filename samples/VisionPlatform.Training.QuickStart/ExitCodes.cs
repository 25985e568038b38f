namespace VisionPlatform.Training.QuickStart;

/// <summary>The QuickStart's exit codes.</summary>
internal static class ExitCodes
{
    public const int Succeeded = 0;
    public const int Failed = 1;
    public const int BadInput = 2;

    /// <summary>The chosen executor is unavailable and fallback was not allowed (or nothing could take the job).</summary>
    public const int ExecutorUnavailable = 3;
}
