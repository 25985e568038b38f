using System.Text.Json;

namespace VisionPlatform.Training.Backend.Runs;

/// <summary>The body of <c>POST /runs</c>. Field names are the API's; <see cref="FieldFor"/> maps the SDK's to them.</summary>
public sealed record StartRunRequest
{
    /// <summary>The caller's job id; starting the same id with the same settings again is harmless.</summary>
    public string? JobId { get; init; }

    /// <summary>Ignored by the API: the run's project is the caller's <c>project</c> claim (also the <c>project-id</c> label).</summary>
    public string? ProjectId { get; init; }

    /// <summary><c>ultralytics</c>, <c>timm</c>, <c>huggingface</c>, ...</summary>
    public string? Framework { get; init; }

    /// <summary>For example <c>object_detection</c> or <c>classification</c>.</summary>
    public string? TaskType { get; init; }

    /// <summary>The model, for example <c>yolo11n</c>.</summary>
    public string? Model { get; init; }

    /// <summary>The dataset path, key or id.</summary>
    public string? Dataset { get; init; }

    /// <summary>The dataset format, for example <c>yolo</c>.</summary>
    public string? DatasetFormat { get; init; }

    /// <summary>Epochs (SDK default when absent).</summary>
    public int? Epochs { get; init; }

    /// <summary>Batch size (SDK default when absent).</summary>
    public int? BatchSize { get; init; }

    /// <summary>Learning rate (SDK default when absent).</summary>
    public double? LearningRate { get; init; }

    /// <summary>Image size in pixels.</summary>
    public int? ImageSize { get; init; }

    /// <summary>Number of classes.</summary>
    public int? NumClasses { get; init; }

    /// <summary>GPUs the run needs (default 0).</summary>
    public int? Gpus { get; init; }

    /// <summary>Trainer-specific settings as one JSON object, for example <c>{"epoch_seconds": 1}</c> for the demo trainer.</summary>
    public JsonElement? AdvancedConfig { get; init; }

    /// <summary>Extra labels.</summary>
    public IDictionary<string, string>? Labels { get; init; }

    /// <summary>The SDK's builder for this request (validated by the caller).</summary>
    public TrainingJobConfigBuilder ToBuilder()
    {
        var builder = new TrainingJobConfigBuilder
        {
            JobId = JobId,
            ProjectId = ProjectId,
            Framework = Framework ?? string.Empty,
            TaskType = TaskType,
            ModelName = Model,
            DatasetPath = Dataset,
            DatasetFormat = DatasetFormat,
            ImageSize = ImageSize,
            NumClasses = NumClasses,
            AdvancedConfig = AdvancedConfig is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } json ? JsonSerializer.Serialize(json) : null,
        };
        builder.Epochs = Epochs ?? builder.Epochs;
        builder.BatchSize = BatchSize ?? builder.BatchSize;
        builder.LearningRate = LearningRate ?? builder.LearningRate;
        if (Gpus is { } gpus)
        {
            builder.Resources = new TrainingResources { Gpus = gpus };
        }

        foreach (var (key, value) in Labels ?? new Dictionary<string, string>())
        {
            builder.Labels[key] = value;
        }

        if (ProjectId is not null)
        {
            builder.Labels["project-id"] = ProjectId;
        }

        return builder;
    }

    /// <summary>The request field a builder field came from, so errors name what the client sent.</summary>
    public static string FieldFor(string builderField) => builderField switch
    {
        nameof(TrainingJobConfigBuilder.ModelName) => "model",
        nameof(TrainingJobConfigBuilder.DatasetPath) => "dataset",
        "Resources.Gpus" => "gpus",
        _ when builderField.StartsWith("Labels[", StringComparison.Ordinal) => "labels" + builderField["Labels".Length..],
        _ => JsonNamingPolicy.CamelCase.ConvertName(builderField),
    };
}
