using System.Globalization;
using System.Text.Json;

namespace VisionPlatform.Training.Trainers;

/// <summary>
/// The newer trainer generation's contract: <c>--job-id --model-name --dataset-s3-uri [--callback-url] --config &lt;json&gt;</c>,
/// with the same values also in the environment (<c>JOB_ID</c>, <c>MODEL_NAME</c>, <c>DATASET_S3_URI</c>,
/// <c>CALLBACK_URL</c>, <c>CONFIG</c>, <c>EPOCHS</c>, <c>BATCH_SIZE</c>, <c>LEARNING_RATE</c>, <c>IMGSZ</c>,
/// <c>FRAMEWORK</c>, <c>TASK_TYPE</c>). The JSON holds every other field, and the advanced config as the object
/// <c>advanced_config</c> (with the library's resume setting added when the run resumes: <see cref="FrameworkResume"/>).
/// A JSON too large for one process argument (Linux <c>MAX_ARG_STRLEN</c>, 128 KiB) is written to
/// <see cref="TrainerLaunchContext.ConfigFilePath"/> and passed as <c>--config @&lt;path&gt;</c> (and <c>CONFIG=@&lt;path&gt;</c>).
/// </summary>
public sealed class JsonConfigTrainerContract : ITrainerContract
{
    /// <summary>The contract's configuration name.</summary>
    public const string ContractName = "json-config";

    /// <inheritdoc />
    public string Name => ContractName;

    /// <inheritdoc />
    public TrainerInvocation CreateInvocation(TrainingJobConfig config, TrainerLaunchContext context)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(context);
        var inv = CultureInfo.InvariantCulture;
        var json = BuildConfigJson(config, context);

        var args = new List<string>
        {
            "--job-id", config.JobId,
            "--model-name", config.ModelName,
            "--dataset-s3-uri", config.DatasetPath,
        };
        if (config.CallbackUrl is { } callback)
        {
            args.Add("--callback-url");
            args.Add(callback.OriginalString);
        }

        // A config too large for one argument (or for CONFIG=<json>) travels as a file: --config @path.
        string? configFile = null;
        var configArgument = json;
        if (ArgumentLimits.Bytes(json) + "CONFIG=".Length > ArgumentLimits.MaxStringBytes)
        {
            if (context.ConfigFilePath is not { } path)
            {
                throw ArgumentLimits.TooLarge(ArgumentLimits.Bytes(json), "this executor cannot pass the trainer's config as a file");
            }

            configFile = json;
            configArgument = "@" + path;
        }

        args.Add("--config");
        args.Add(configArgument);

        var env = new Dictionary<string, string>(config.Environment, StringComparer.Ordinal)
        {
            ["JOB_ID"] = config.JobId,
            ["MODEL_NAME"] = config.ModelName,
            ["DATASET_S3_URI"] = config.DatasetPath,
            ["CONFIG"] = configArgument,
            ["EPOCHS"] = config.Epochs.ToString(inv),
            ["BATCH_SIZE"] = config.BatchSize.ToString(inv),
            ["LEARNING_RATE"] = config.LearningRate.ToString("R", inv),
            ["FRAMEWORK"] = config.Framework.Value,
            ["TASK_TYPE"] = config.TaskType,
        };
        if (config.ImageSize is { } size)
        {
            env["IMGSZ"] = size.ToString(inv);
        }

        if (config.CallbackUrl is { } url)
        {
            env["CALLBACK_URL"] = url.OriginalString;
        }

        return new TrainerInvocation(args, env) { ConfigFileContent = configFile };
    }

    private static string BuildConfigJson(TrainingJobConfig config, TrainerLaunchContext context)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("job_type", config.JobType.ToString().ToLowerInvariant());
            w.WriteString("framework", config.Framework.Value);
            w.WriteString("task_type", config.TaskType);
            w.WriteString("dataset_format", config.DatasetFormat);
            w.WriteNumber("epochs", config.Epochs);
            w.WriteNumber("batch_size", config.BatchSize);
            w.WriteNumber("learning_rate", config.LearningRate);
            w.WriteString("optimizer", config.Optimizer);
            w.WriteString("output_dir", context.OutputDirectory);
            if (config.NumClasses is { } n)
            {
                w.WriteNumber("num_classes", n);
            }

            if (config.ProjectId is not null)
            {
                w.WriteString("project_id", config.ProjectId);
            }

            if (config.ImageSize is { } s)
            {
                w.WriteNumber("image_size", s);
            }

            w.WriteBoolean("pretrained", config.Pretrained);
            if (config.CheckpointPath is not null)
            {
                w.WriteString("checkpoint_path", config.CheckpointPath);
            }

            w.WriteBoolean("resume", config.Resume);
            if (FrameworkResume.GetTrainerAdvancedConfig(config) is { } advancedConfig)
            {
                using var advanced = JsonDocument.Parse(advancedConfig);
                w.WritePropertyName("advanced_config");
                advanced.RootElement.WriteTo(w);
            }

            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
