using System.Globalization;

namespace VisionPlatform.Training.Testing;

/// <summary>
/// What the in-memory executor refuses before it starts anything, as the real executors refuse what their host or
/// cluster cannot run: more GPUs than <see cref="InMemoryExecutorOptions.MaxGpus"/>.
/// </summary>
internal static class InMemoryJobRules
{
    public static void ThrowIfRefused(TrainingJobConfig config, InMemoryExecutorOptions options, string executorName)
    {
        var errors = new List<TrainingValidationError>();
        var gpus = config.Resources?.Gpus ?? 0;
        if (options.MaxGpus is { } max && gpus > max)
        {
            errors.Add(new TrainingValidationError(
                "Resources.Gpus",
                gpus.ToString(CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"must be at most {max}: training executor '{executorName}' hands out {max} GPU(s) per job (InMemoryExecutorOptions.MaxGpus)")));
        }

        if (errors.Count > 0)
        {
            throw new TrainingValidationException(errors) { ExecutorName = executorName, JobId = config.JobId };
        }
    }
}
