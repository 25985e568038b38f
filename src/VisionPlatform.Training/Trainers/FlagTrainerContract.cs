using System.Globalization;

namespace VisionPlatform.Training.Trainers;

/// <summary>
/// The platform's documented <c>train.py</c> flag contract (underscore flags, each value a separate argument):
/// <c>--framework --task_type --model_name --dataset_path --dataset_format --epochs --batch_size --learning_rate
/// --optimizer --output_dir --job_id</c>, then the optional <c>--num_classes --project_id --image_size --pretrained
/// --checkpoint_path --resume --advanced_config --callback_url</c>, and <c>--job_type</c> for non-training jobs.
/// A resuming run's <c>--advanced_config</c> also carries the library's resume setting (<see cref="FrameworkResume"/>).
/// </summary>
public sealed class FlagTrainerContract : ITrainerContract
{
    /// <summary>The contract's configuration name.</summary>
    public const string ContractName = "flags";

    /// <inheritdoc />
    public string Name => ContractName;

    /// <inheritdoc />
    public TrainerInvocation CreateInvocation(TrainingJobConfig config, TrainerLaunchContext context)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(context);
        var inv = CultureInfo.InvariantCulture;
        var args = new List<string>(40)
        {
            "--framework", config.Framework.Value,
            "--task_type", config.TaskType,
            "--model_name", config.ModelName,
            "--dataset_path", config.DatasetPath,
            "--dataset_format", config.DatasetFormat,
            "--epochs", config.Epochs.ToString(inv),
            "--batch_size", config.BatchSize.ToString(inv),
            "--learning_rate", config.LearningRate.ToString("R", inv),
            "--optimizer", config.Optimizer,
            "--output_dir", context.OutputDirectory,
            "--job_id", config.JobId,
        };

        if (config.JobType != TrainingJobType.Training)
        {
            args.Add("--job_type");
            args.Add(config.JobType.ToString().ToLowerInvariant());
        }

        AddIfSet(args, "--num_classes", config.NumClasses?.ToString(inv));
        AddIfSet(args, "--project_id", config.ProjectId);
        AddIfSet(args, "--image_size", config.ImageSize?.ToString(inv));
        if (config.Pretrained)
        {
            args.Add("--pretrained");
        }

        AddIfSet(args, "--checkpoint_path", config.CheckpointPath);
        if (config.Resume)
        {
            args.Add("--resume");
        }

        // The caller's advanced config, plus the library's own resume setting when the run resumes (FrameworkResume).
        var advanced = FrameworkResume.GetTrainerAdvancedConfig(config);
        if (advanced is not null && ArgumentLimits.Bytes(advanced) is var bytes && bytes > ArgumentLimits.MaxAdvancedConfigArgumentBytes)
        {
            throw ArgumentLimits.TooLarge(bytes, "the flags contract passes it as one argument (the json-config contract passes a larger config as a file, --config @path)");
        }

        AddIfSet(args, "--advanced_config", advanced);
        AddIfSet(args, "--callback_url", config.CallbackUrl?.OriginalString);
        return new TrainerInvocation(args, config.Environment);
    }

    private static void AddIfSet(List<string> args, string flag, string? value)
    {
        if (value is not null)
        {
            args.Add(flag);
            args.Add(value);
        }
    }
}
