namespace VisionPlatform.Training.QuickStart.CommandLine;

/// <summary>Turns <see cref="TrainingValidationException"/> errors (builder field names) into flag-named messages.</summary>
internal static class ValidationMessages
{
    public static string ForFlags(TrainingValidationException exception) =>
        string.Join("; ", exception.Errors.Select(e => new TrainingValidationError(QuickStartArguments.FlagFor(e.Field), e.Value, e.Rule).ToString()));
}
