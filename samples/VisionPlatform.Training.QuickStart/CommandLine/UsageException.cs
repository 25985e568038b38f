namespace VisionPlatform.Training.QuickStart.CommandLine;

/// <summary>Bad input found after parsing (a setting): printed as one line on stderr naming the setting, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
