using System.Globalization;
using VisionPlatform.Training.Kubernetes;

namespace VisionPlatform.Training.QuickStart.CommandLine;

/// <summary>
/// Parses the QuickStart's flags (<c>--flag value</c> or <c>--flag=value</c>) into a <see cref="QuickStartCommand"/>.
/// Hand-written on purpose: the sample shows the SDK, not a command-line library.
/// </summary>
internal static class QuickStartArguments
{
    private sealed record Flag(string Name, string? Field, string Help, Action<QuickStartCommand, string>? Apply, Action<QuickStartCommand>? Switch = null);

    private static readonly Flag[] Flags =
    [
        new("--executor", null, "subprocess (default) or kubernetes", (c, v) => c.Executor = v),
        new("--no-fallback", null, "never run the job on another executor when the chosen one is unavailable (exit code 3)", null, c => c.NoFallback = true),
        new("--dry-run", null, "print what would run (arguments, environment variable names); start nothing", null, c => c.DryRun = true),
        new("--job-id", nameof(TrainingJobConfigBuilder.JobId), "job id (default: quickstart-<UTC timestamp>-<pid>)", (c, v) => c.Job.JobId = v),
        new("--framework", nameof(TrainingJobConfigBuilder.Framework), "ultralytics, timm, huggingface, ... (default ultralytics)", (c, v) => c.Job.Framework = v),
        new("--model-name", nameof(TrainingJobConfigBuilder.ModelName), "model (default yolo11n)", (c, v) => c.Job.ModelName = v),
        new("--task-type", nameof(TrainingJobConfigBuilder.TaskType), "task (default object_detection)", (c, v) => c.Job.TaskType = v),
        new("--dataset-path", nameof(TrainingJobConfigBuilder.DatasetPath), "dataset path, key or id (default coco8)", (c, v) => c.Job.DatasetPath = v),
        new("--dataset-format", nameof(TrainingJobConfigBuilder.DatasetFormat), "dataset format (default yolo)", (c, v) => c.Job.DatasetFormat = v),
        new("--epochs", nameof(TrainingJobConfigBuilder.Epochs), "epochs (default 5)", (c, v) => c.Job.Epochs = Integer("--epochs", v)),
        new("--batch-size", nameof(TrainingJobConfigBuilder.BatchSize), "batch size (default 16)", (c, v) => c.Job.BatchSize = Integer("--batch-size", v)),
        new("--learning-rate", nameof(TrainingJobConfigBuilder.LearningRate), "learning rate (default 0.01)", (c, v) => c.Job.LearningRate = Number("--learning-rate", v)),
        new("--optimizer", nameof(TrainingJobConfigBuilder.Optimizer), "optimizer (default adam)", (c, v) => c.Job.Optimizer = v),
        new("--num-classes", nameof(TrainingJobConfigBuilder.NumClasses), "number of classes", (c, v) => c.Job.NumClasses = Integer("--num-classes", v)),
        new("--image-size", nameof(TrainingJobConfigBuilder.ImageSize), "image size in pixels", (c, v) => c.Job.ImageSize = Integer("--image-size", v)),
        new("--gpus", "Resources.Gpus", "GPUs for the job (default 0: CPU)", (c, v) => c.Job.Resources = (c.Job.Resources ?? TrainingResources.None) with { Gpus = Integer("--gpus", v) }),
        new("--output-dir", null, "runs directory (default: <temp>/visionplatform-quickstart/runs)", (c, v) => c.OutputDirectory = NonEmpty("--output-dir", v)),
        new("--advanced-config", nameof(TrainingJobConfigBuilder.AdvancedConfig), "trainer-specific settings as one JSON object", (c, v) => c.Job.AdvancedConfig = v),
        new("--project-id", nameof(TrainingJobConfigBuilder.ProjectId), "the platform's project id", (c, v) => c.Job.ProjectId = v),
        new("--print-cluster-setup", null, "print the cluster set-up (namespace, RBAC, ConfigMap, ...) as YAML for kubectl apply; needs no cluster", null, c => c.PrintClusterSetup = true),
        new("--help", null, "show this help", null, c => c.Help = true),
    ];

    /// <summary>Parses the arguments; throws <see cref="UsageException"/> naming the flag on any problem.</summary>
    public static QuickStartCommand Parse(IReadOnlyList<string> args, TimeProvider time)
    {
        var command = new QuickStartCommand { Job = CreateDefaultJob(time) };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "-?")
            {
                arg = "--help";
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageException($"{arg}: unexpected argument (flags start with '--'; see --help)");
            }

            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? arg : arg[..eq];
            var flag = Array.Find(Flags, f => f.Name == name)
                ?? throw new UsageException($"{name}: unknown flag (see --help)");
            if (!seen.Add(flag.Name))
            {
                throw new UsageException($"{flag.Name}: given more than once");
            }

            if (flag.Switch is not null)
            {
                if (eq >= 0)
                {
                    throw new UsageException($"{flag.Name}: is a switch and takes no value");
                }

                flag.Switch(command);
                continue;
            }

            string value;
            if (eq >= 0)
            {
                value = arg[(eq + 1)..];
            }
            else if (i + 1 < args.Count && !IsFlag(args[i + 1]))
            {
                value = args[++i];
            }
            else
            {
                throw new UsageException($"{flag.Name}: needs a value");
            }

            flag.Apply!(command, value);
        }

        if (!string.Equals(command.Executor, TrainingExecutorNames.Subprocess, StringComparison.Ordinal) &&
            !string.Equals(command.Executor, KubernetesExecutorInfo.ExecutorName, StringComparison.Ordinal))
        {
            throw new UsageException($"--executor: '{command.Executor}' is not an executor: use subprocess or kubernetes");
        }

        return command;
    }

    /// <summary>Names the flag that sets a builder field, so <c>Build()</c> errors speak the user's language.</summary>
    public static string FlagFor(string field) =>
        Array.Find(Flags, f => f.Field == field)?.Name ?? field;

    /// <summary>One line per flag, for <c>--help</c>.</summary>
    public static string Usage()
    {
        var lines = Flags.Select(f => $"  {(f.Apply is null ? f.Name : f.Name + " <value>"),-26} {f.Help}");
        return "Runs one training job end to end through VisionPlatform.Training and shows its progress." + Environment.NewLine +
               Environment.NewLine +
               "usage: dotnet run --project samples/VisionPlatform.Training.QuickStart -- [flags]" + Environment.NewLine +
               string.Join(Environment.NewLine, lines) + Environment.NewLine +
               Environment.NewLine +
               "exit codes: 0 the job succeeded, 1 it failed, 2 bad input";
    }

    private static TrainingJobConfigBuilder CreateDefaultJob(TimeProvider time) => new()
    {
        // Unique per invocation, so repeated runs never meet the executor's "same job id" rule.
        JobId = string.Create(CultureInfo.InvariantCulture, $"quickstart-{time.GetUtcNow():yyyyMMdd-HHmmss-fff}-{Environment.ProcessId}"),
        Framework = TrainingFramework.Ultralytics,
        ModelName = "yolo11n",
        TaskType = "object_detection",
        DatasetPath = "coco8",
        DatasetFormat = "yolo",
        Epochs = 5,
        BatchSize = 16,
        LearningRate = 0.01,
    };

    // A negative number is a value, not a flag, so "--epochs -1" reaches validation and is reported as out of range.
    private static bool IsFlag(string arg) => arg.StartsWith("--", StringComparison.Ordinal) || arg is "-h" or "-?";

    private static int Integer(string flag, string value) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new UsageException($"{flag}: '{value}' is not a whole number");

    private static double Number(string flag, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new UsageException($"{flag}: '{value}' is not a number");

    private static string NonEmpty(string flag, string value) =>
        string.IsNullOrWhiteSpace(value) ? throw new UsageException($"{flag}: must not be empty") : value;
}
