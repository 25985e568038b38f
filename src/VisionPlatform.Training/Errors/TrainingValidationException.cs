namespace VisionPlatform.Training;

/// <summary>
/// Thrown when a configuration or request breaks one or more rules. Lists every problem at once;
/// nothing was started or created.
/// </summary>
public sealed class TrainingValidationException : TrainingException
{
    /// <summary>Creates the exception from the list of problems.</summary>
    /// <param name="errors">The problems found; at least one.</param>
    public TrainingValidationException(IReadOnlyList<TrainingValidationError> errors)
        : base(TrainingErrorCode.ValidationFailed, FormatMessage(errors))
    {
        Errors = errors;
    }

    /// <summary>Every problem found, each naming the field, the value's problem and the rule.</summary>
    public IReadOnlyList<TrainingValidationError> Errors { get; }

    private static string FormatMessage(IReadOnlyList<TrainingValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (errors.Count == 0)
        {
            throw new ArgumentException("At least one validation error is required.", nameof(errors));
        }

        return errors.Count == 1
            ? $"Invalid training job: {errors[0]}"
            : $"Invalid training job ({errors.Count} problems):{Environment.NewLine}  - " +
              string.Join(Environment.NewLine + "  - ", errors);
    }
}
