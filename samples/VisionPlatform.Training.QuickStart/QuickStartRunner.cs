using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using VisionPlatform.Training.Kubernetes;
using VisionPlatform.Training.QuickStart.CommandLine;
using VisionPlatform.Training.QuickStart.Display;
using VisionPlatform.Training.Subprocess;

namespace VisionPlatform.Training.QuickStart;

/// <summary>Runs one job on the chosen executor: start, follow the log with a progress bar, report the outcome.</summary>
internal sealed class QuickStartRunner(TrainingClient client, TimeProvider time, IServiceProvider services)
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    public async Task<int> RunAsync(QuickStartCommand command, TrainingJobConfig config, CancellationToken cancellationToken)
    {
        if (!client.ExecutorNames.Contains(command.Executor, StringComparer.OrdinalIgnoreCase))
        {
            ErrorLine.Write(Console.Error, $"--executor: {command.Executor} is not registered in this build");
            return ExitCodes.BadInput;
        }

        if (command.DryRun && string.Equals(command.Executor, KubernetesExecutorInfo.ExecutorName, StringComparison.OrdinalIgnoreCase))
        {
            // Needs no cluster: only the Job builder, never the executor's connection.
            return DryRun.PrintKubernetesJob(services.GetRequiredService<TrainingJobSpecBuilder>(), config, Console.Out, Console.Error);
        }

        // Executors are registered by name; the concrete one shows what a dry run would launch.
        var executor = services.GetRequiredKeyedService<ITrainingExecutor>(command.Executor);
        if (command.DryRun)
        {
            return DryRun.Print(executor, config, Console.Out, Console.Error);
        }

        // Where the trainer will write metrics.json; known before the start for local runs.
        var outputDirectory = executor is SubprocessTrainingExecutor subprocess
            ? RunMetrics.OutputDirectoryOf(subprocess.CreateLaunchPlan(config))
            : null;

        TrainingOperation run;
        try
        {
            run = await client.StartAsync(
                config, new TrainingStartOptions { Executor = command.Executor, NoFallback = command.NoFallback }, cancellationToken).ConfigureAwait(false);
            if (run.IsFallback)
            {
                Console.Error.WriteLine($"executor {run.RequestedExecutor} is unavailable, running on {run.ExecutorName} instead: {run.FallbackReason}");
                outputDirectory = services.GetRequiredKeyedService<ITrainingExecutor>(run.ExecutorName) is SubprocessTrainingExecutor local
                    ? RunMetrics.OutputDirectoryOf(local.CreateLaunchPlan(config))
                    : null;
            }
        }
        catch (TrainingValidationException e)
        {
            ErrorLine.Write(Console.Error, ValidationMessages.ForFlags(e));
            return ExitCodes.BadInput;
        }
        catch (TrainingException e) when (e.Code == TrainingErrorCode.JobConflict)
        {
            ErrorLine.Write(Console.Error, $"--job-id: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (TrainingException e) when (e.Code == TrainingErrorCode.ExecutorUnavailable)
        {
            ErrorLine.Write(Console.Error, $"--executor: {e.Message}");
            return ExitCodes.ExecutorUnavailable;
        }
        catch (TrainingException e)
        {
            ErrorLine.Write(Console.Error, $"could not start the job ({e.Code}): {e.Message}");
            return ExitCodes.Failed;
        }

        Console.WriteLine($"started job {run.JobId} on {run.ExecutorName} (operation id {run.Id})");
        var started = time.GetTimestamp();
        var display = new ProgressDisplay(Console.Out);
        TrainingRunStatus status;
        try
        {
            await foreach (var line in run.GetLogsAsync(new TrainingLogOptions { Follow = true }, cancellationToken).ConfigureAwait(false))
            {
                display.OnLogLine(line.Text);
            }

            status = await WaitForOutcomeAsync(run, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.WriteLine("interrupted: stopping the job ...");
            status = await run.StopAsync(new TrainingStopOptions { GracePeriod = StopGrace }, CancellationToken.None).ConfigureAwait(false);
        }

        Report(status, time.GetElapsedTime(started));
        if (outputDirectory is not null)
        {
            RunMetrics.Print(outputDirectory, Console.Out);
        }

        return status.Phase == TrainingPhase.Succeeded ? ExitCodes.Succeeded : ExitCodes.Failed;
    }

    private static Task<TrainingRunStatus> WaitForOutcomeAsync(TrainingOperation run, CancellationToken cancellationToken) =>
        // The log ends when the trainer's output closes; the exit is recorded a moment later.
        run.WaitForCompletionAsync(cancellationToken);

    private static void Report(TrainingRunStatus status, TimeSpan elapsed)
    {
        var exit = status.ExitCode is { } code ? string.Create(CultureInfo.InvariantCulture, $", exit code {code}") : string.Empty;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"status: {status.Phase} ({status.Reason}{exit}) after {elapsed.TotalSeconds:0.0}s"));
        if (!string.IsNullOrEmpty(status.Message))
        {
            Console.WriteLine($"message: {status.Message}");
        }
    }
}
