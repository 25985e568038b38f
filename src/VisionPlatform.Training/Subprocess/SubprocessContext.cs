using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Subprocess.Coordination;
using VisionPlatform.Training.Subprocess.Monitoring;
using VisionPlatform.Training.Subprocess.Native;

namespace VisionPlatform.Training.Subprocess;

/// <summary>What every part of one subprocess executor instance shares: its name, directory, options, clock and logger.</summary>
internal sealed class SubprocessContext
{
    /// <summary>The configuration section of the options, for messages that name the key to fix.</summary>
    public const string OptionsKey = TrainingOptions.SectionName + ":Subprocess";

    /// <summary>The executor's name (<see cref="TrainingExecutorNames.Subprocess"/>).</summary>
    public required string ExecutorName { get; init; }

    /// <summary>The absolute directory holding one directory per run.</summary>
    public required string RunsDirectory { get; init; }

    /// <summary>The subprocess options.</summary>
    public required SubprocessExecutorOptions Options { get; init; }

    /// <summary>Which environment variables jobs may set (<c>Training:Environment:AllowedJobVariables</c>).</summary>
    public required TrainingEnvironmentPolicy EnvironmentPolicy { get; init; }

    /// <summary>The clock.</summary>
    public required TimeProvider Time { get; init; }

    /// <summary>The logger.</summary>
    public required ILogger Logger { get; init; }

    /// <summary>Launches, reaps, probes and signals trainer processes.</summary>
    public required IProcessHost Host { get; init; }

    /// <summary>What the executor instances over the same runs directory in this process share.</summary>
    public required SharedRunsDirectory Shared { get; init; }

    /// <summary>Publishes run changes and completes statuses with progress and cost.</summary>
    public required SubprocessRunMonitor Monitor { get; init; }

    /// <summary>The error a call about an unknown run throws.</summary>
    /// <param name="run">The run.</param>
    public TrainingException RunNotFound(TrainingRun run) =>
        new(TrainingErrorCode.RunNotFound, $"The subprocess executor has no run '{run.ResourceId}' for job '{run.JobId}' in '{RunsDirectory}'.")
        {
            ExecutorName = ExecutorName,
            JobId = run.JobId,
        };
}
