using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using VisionPlatform.Training.Kubernetes;
using VisionPlatform.Training.QuickStart.CommandLine;
using VisionPlatform.Training.QuickStart.Display;
using VisionPlatform.Training.Subprocess;

namespace VisionPlatform.Training.QuickStart;

/// <summary>
/// Runs one job on the chosen executor: subscribe to its events, start it, show every phase change, log line and
/// progress report as it happens, then report the outcome.
/// </summary>
internal sealed class QuickStartRunner(
    TrainingClient client,
    ITrainingEventSource events,
    QuickStartArguments arguments,
    TimeProvider time,
    IServiceProvider services)
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReasonLookup = TimeSpan.FromSeconds(2);

    public async Task<int> RunAsync(QuickStartCommand command, TrainingJobConfig config, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (!client.ExecutorNames.Contains(command.Executor, StringComparer.OrdinalIgnoreCase))
        {
            ErrorLine.Write(error, $"--executor: {command.Executor} is not registered in this build");
            return ExitCodes.BadInput;
        }

        if (config.Nodes > 1 && string.Equals(command.Executor, TrainingExecutorNames.Subprocess, StringComparison.OrdinalIgnoreCase))
        {
            // The executor refuses it too (Unschedulable); said here as a flag problem, before anything starts.
            ErrorLine.Write(error, string.Create(CultureInfo.InvariantCulture,
                $"--nodes: {config.Nodes}: the subprocess executor runs a job on one machine, so --nodes must be 1; use --executor kubernetes for a multi-node job"));
            return ExitCodes.BadInput;
        }

        var onKubernetes = string.Equals(command.Executor, KubernetesExecutorInfo.ExecutorName, StringComparison.OrdinalIgnoreCase);
        foreach (var (flag, value) in new[] { ("--queue", command.Queue), ("--priority-class", command.PriorityClass), ("--pod-priority-class", command.PodPriorityClass) })
        {
            if (value is not null && !onKubernetes)
            {
                ErrorLine.Write(error, $"{flag}: {value}: queues and priority classes are Kubernetes settings; use --executor kubernetes");
                return ExitCodes.BadInput;
            }
        }

        if (command.PriorityClass is { } priorityClass && string.IsNullOrEmpty(services.GetRequiredService<TrainingJobSpecBuilder>().Options.Kueue.QueueName))
        {
            ErrorLine.Write(error, $"--priority-class: {priorityClass}: a WorkloadPriorityClass applies only to a queued job; give --queue too (or set Training:Kubernetes:Kueue:QueueName)");
            return ExitCodes.BadInput;
        }

        if (command.DryRun && onKubernetes)
        {
            // Needs no cluster: only the Job builder, never the executor's connection.
            return DryRun.PrintKubernetesJob(services.GetRequiredService<TrainingJobSpecBuilder>(), config, arguments, output, error);
        }

        // Executors are registered by name; the concrete one shows what a dry run would launch.
        var executor = services.GetRequiredKeyedService<ITrainingExecutor>(command.Executor);
        if (command.DryRun)
        {
            try
            {
                return DryRun.Print(executor, config, output, error);
            }
            catch (TrainingValidationException e)
            {
                // The trainer contract's own limits (one argument's size) apply when the launch is planned.
                ErrorLine.Write(error, arguments.Describe(e));
                return ExitCodes.BadInput;
            }
        }

        // Subscribed before the start, so the run's first phase and first log line are not missed.
        await using var follower = new RunEventFollower(events, config.JobId, cancellationToken);
        TrainingOperation run;
        try
        {
            run = await client.StartAsync(
                config, new TrainingStartOptions { Executor = command.Executor, NoFallback = command.NoFallback }, cancellationToken).ConfigureAwait(false);
        }
        catch (TrainingValidationException e)
        {
            ErrorLine.Write(error, arguments.Describe(e));
            return ExitCodes.BadInput;
        }
        catch (TrainingException e) when (e.Code == TrainingErrorCode.JobConflict)
        {
            ErrorLine.Write(error, $"--job-id: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (TrainingException e) when (e.Code == TrainingErrorCode.ExecutorUnavailable)
        {
            // Not a bad flag: the executor exists, it cannot be reached. Say which one and why, once.
            ErrorLine.Write(error, await UnavailableAsync(command, e).ConfigureAwait(false));
            return ExitCodes.ExecutorUnavailable;
        }
        catch (TrainingException e) when (e.Code == TrainingErrorCode.Unschedulable && config.Nodes > 1)
        {
            // The cluster is down and the fallback (this machine) cannot run several nodes: nothing can take the job now.
            ErrorLine.Write(error, $"error: no executor can take the job: {e.Message}");
            return ExitCodes.ExecutorUnavailable;
        }
        catch (TrainingException e)
        {
            ErrorLine.Write(error, $"error: could not start the job ({e.Code}): {e.Message}");
            return ExitCodes.Failed;
        }

        output.WriteLine($"started job {run.JobId} on {run.ExecutorName} (operation id {run.Id})");
        if (run.IsFallback)
        {
            ErrorLine.Write(error, $"fallback: running on {run.ExecutorName} instead of {run.RequestedExecutor}: {run.FallbackReason}");
        }

        // Where the trainer writes metrics.json; known for local runs.
        var outputDirectory = services.GetRequiredKeyedService<ITrainingExecutor>(run.ExecutorName) is SubprocessTrainingExecutor local
            ? RunMetrics.OutputDirectoryOf(local.CreateLaunchPlan(config))
            : null;

        var started = time.GetTimestamp();
        var display = new ProgressDisplay(output);
        TrainingRunStatus status;
        try
        {
            // The wait also reads a run that existed before (an explicit --job-id) into the event stream.
            var completion = run.WaitForCompletionAsync(cancellationToken);
            await follower.ShowUntilTerminalAsync(run.Run, display).ConfigureAwait(false);
            status = await completion.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            output.WriteLine("interrupted: stopping the job ...");
            status = await run.StopAsync(new TrainingStopOptions { GracePeriod = StopGrace }, CancellationToken.None).ConfigureAwait(false);
        }

        Report(status, time.GetElapsedTime(started), output);
        if (outputDirectory is not null)
        {
            RunMetrics.Print(outputDirectory, output);
        }

        return status.Phase == TrainingPhase.Succeeded ? ExitCodes.Succeeded : ExitCodes.Failed;
    }

    private async Task<string> UnavailableAsync(QuickStartCommand command, TrainingException e)
    {
        if (!command.NoFallback)
        {
            return $"error: no executor can take the job: {e.Message}";
        }

        // The cached availability carries the reason alone (the exception's message also explains the routing).
        try
        {
            using var timeout = new CancellationTokenSource(ReasonLookup, time);
            var availability = await client.GetAvailabilityAsync(command.Executor, timeout.Token).ConfigureAwait(false);
            if (!availability.IsAvailable && !string.IsNullOrWhiteSpace(availability.Reason))
            {
                return $"error: the {command.Executor} executor is unavailable and --no-fallback was given: {availability.Reason}";
            }
        }
        catch (Exception lookup) when (lookup is OperationCanceledException or TrainingException)
        {
            // Keep the start's own message below.
        }

        return $"error: the {command.Executor} executor is unavailable and --no-fallback was given: {e.Message}";
    }

    private static void Report(TrainingRunStatus status, TimeSpan elapsed, TextWriter output)
    {
        var exit = status.ExitCode is { } code ? string.Create(CultureInfo.InvariantCulture, $", exit code {code}") : string.Empty;
        // The message was shown with the terminal phase.
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"status: {status.Phase} ({status.Reason}{exit}) after {elapsed.TotalSeconds:0.0}s"));
    }
}
