using System.Text.RegularExpressions;

namespace VisionPlatform.Training;

/// <summary>
/// The training framework of a job. The well-known values match the trainer contract; any other value that is
/// a lower-case identifier (<c>[a-z0-9][a-z0-9_-]*</c>, at most 63 characters) names a custom framework.
/// </summary>
public readonly partial record struct TrainingFramework
{
    /// <summary>Creates a framework value. Validation happens in <see cref="TrainingJobConfigBuilder.Build"/>.</summary>
    /// <param name="value">The framework name as the trainer expects it.</param>
    public TrainingFramework(string value) => Value = value ?? string.Empty;

    /// <summary>The framework name passed to the trainer.</summary>
    public string Value { get; }

    /// <summary>Plain PyTorch trainers (for example the reference trainer <c>samples/trainer/train_torch.py</c>).</summary>
    public static TrainingFramework PyTorch { get; } = new("pytorch");

    /// <summary>Ultralytics (YOLO detection, segmentation, pose, classification).</summary>
    public static TrainingFramework Ultralytics { get; } = new("ultralytics");

    /// <summary>timm image classifiers (ResNet, EfficientNet, ...).</summary>
    public static TrainingFramework Timm { get; } = new("timm");

    /// <summary>Hugging Face models.</summary>
    public static TrainingFramework HuggingFace { get; } = new("huggingface");

    /// <summary>Hugging Face transformers (an alias the platform also accepts).</summary>
    public static TrainingFramework Transformers { get; } = new("transformers");

    /// <summary>Whether the value is a syntactically valid framework name.</summary>
    public bool IsValid => Value is { Length: > 0 and <= 63 } && NamePattern().IsMatch(Value);

    /// <summary>Returns the framework name.</summary>
    public override string ToString() => Value ?? string.Empty;

    /// <summary>Converts a string to a framework.</summary>
    /// <param name="value">The framework name.</param>
    public static implicit operator TrainingFramework(string value) => new(value);

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
