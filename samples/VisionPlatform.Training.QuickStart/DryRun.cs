using VisionPlatform.Training.Kubernetes;
using VisionPlatform.Training.QuickStart.CommandLine;
using VisionPlatform.Training.Subprocess;

namespace VisionPlatform.Training.QuickStart;

/// <summary>Shows what would run without starting anything: the command, each argument, the environment names.</summary>
internal static class DryRun
{
    public static int Print(ITrainingExecutor executor, TrainingJobConfig config, TextWriter output, TextWriter error)
    {
        if (executor is not SubprocessTrainingExecutor subprocess)
        {
            Display.ErrorLine.Write(error, $"--dry-run: not available for the {executor.Name} executor in this build");
            return ExitCodes.BadInput;
        }

        var plan = subprocess.CreateLaunchPlan(config);
        output.WriteLine($"dry run: job {config.JobId} on {executor.Name}; nothing was started");
        output.WriteLine($"program: {plan.FileName}");
        output.WriteLine($"working directory: {plan.WorkingDirectory}");
        output.WriteLine($"log file: {plan.LogFile}");
        output.WriteLine($"arguments ({plan.Arguments.Count}, each passed as one argument, no shell):");
        foreach (var argument in plan.Arguments)
        {
            output.WriteLine($"  {argument}");
        }

        // Names only: values can hold credentials and are not the point of a dry run.
        output.WriteLine($"environment variables ({plan.EnvironmentNames.Count}, names only):");
        foreach (var variable in plan.Environment)
        {
            output.WriteLine($"  {variable.Name} (from {variable.Source})");
        }

        return ExitCodes.Succeeded;
    }

    /// <summary>
    /// Prints the Job the Kubernetes executor would create, as YAML, alone on stdout; for a distributed job also its
    /// headless Service, as a second document after <c>---</c> (the order the executor creates them in).
    /// </summary>
    public static int PrintKubernetesJob(TrainingJobSpecBuilder builder, TrainingJobConfig config, QuickStartArguments arguments, TextWriter output, TextWriter error)
    {
        try
        {
            var job = builder.Build(config);
            output.Write(TrainingJobSpecBuilder.ToYaml(job, configMap: null, TrainingJobSpecBuilder.BuildService(config, job)));
            return ExitCodes.Succeeded;
        }
        catch (TrainingValidationException e)
        {
            Display.ErrorLine.Write(error, arguments.Describe(e));
            return ExitCodes.BadInput;
        }
    }
}
