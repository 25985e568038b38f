namespace VisionPlatform.Training;

/// <summary>One broken rule: which field, what was wrong with its value, and the rule.</summary>
/// <param name="Field">The field path, for example <c>Resources.Gpus</c> or <c>Environment[MY VAR]</c>.</param>
/// <param name="Value">The offending value as text (already shortened or redacted where needed), or <see langword="null"/> when missing.</param>
/// <param name="Rule">The rule that was broken, in plain words.</param>
public sealed record TrainingValidationError(string Field, string? Value, string Rule)
{
    /// <summary>Formats the error as <c>Field: value 'x' ... rule</c>.</summary>
    public override string ToString() =>
        Value is null ? $"{Field}: {Rule}" : $"{Field}: value '{Value}' is invalid: {Rule}";
}
