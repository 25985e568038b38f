namespace VisionPlatform.Training.QuickStart.CommandLine;

/// <summary>Bad input: printed as one line on stderr (naming the flag or setting) and exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
