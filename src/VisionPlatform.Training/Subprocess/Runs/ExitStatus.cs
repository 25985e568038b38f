using System.Globalization;
using VisionPlatform.Training.Subprocess.Native;

namespace VisionPlatform.Training.Subprocess.Runs;

/// <summary>Maps how a trainer ended to a status, following the trainer contract (0 success, 2 invalid input).</summary>
internal static class ExitStatus
{
    /// <summary>The phase, reason and message for an exit.</summary>
    /// <param name="exit">How it ended.</param>
    /// <param name="stopRequested">Whether our stop caused it.</param>
    /// <param name="lastLines">The log's last lines, for failure messages.</param>
    /// <param name="torchRun">Whether the process was torchrun (a distributed job), whose exit 1 stands for any worker's failure.</param>
    public static (TrainingPhase Phase, string Reason, string? Message) Describe(ChildExit exit, bool stopRequested, string? lastLines, bool torchRun = false)
    {
        if (exit.ExitCode is null && exit.Signal is null)
        {
            return (TrainingPhase.Lost, TrainingStatusReasons.ExitNotObserved, "The trainer's exit status could not be observed.");
        }

        if (stopRequested)
        {
            return (TrainingPhase.Stopped, TrainingStatusReasons.StoppedByUser, $"Stopped on request; the trainer ended with {Describe(exit)}.");
        }

        var (phase, reason) = exit switch
        {
            { Signal: not null } => (TrainingPhase.Failed, TrainingStatusReasons.Signaled),
            { ExitCode: 0 } => (TrainingPhase.Succeeded, TrainingStatusReasons.Completed),
            { ExitCode: 2 } => (TrainingPhase.Failed, TrainingStatusReasons.InvalidTrainerInput),
            _ => (TrainingPhase.Failed, TrainingStatusReasons.NonZeroExitCode),
        };
        if (phase == TrainingPhase.Succeeded)
        {
            return (phase, reason, "The trainer exited with code 0.");
        }

        var message = $"The trainer ended with {Describe(exit)}.";
        if (torchRun && exit.ExitCode == 1)
        {
            // torchrun reports every worker failure as 1, after its whole-group restarts; the workers' codes are only in its log.
            message = "torchrun ended with exit code 1: a worker failed and the group's restarts (Training:Subprocess:Distributed:MaxRestarts) were used up; each worker's exit code is in torchrun's summary in the log.";
        }
        else if (reason == TrainingStatusReasons.InvalidTrainerInput)
        {
            message += " Exit code 2 means it rejected its arguments.";
        }

        if (lastLines is not null)
        {
            message += " Last log lines:\n" + lastLines;
        }

        return (phase, reason, message);
    }

    private static string Describe(ChildExit exit) => exit.Signal is { } signal
        ? string.Create(CultureInfo.InvariantCulture, $"signal {signal} ({SignalName(signal)}), exit code {128 + signal}")
        : string.Create(CultureInfo.InvariantCulture, $"exit code {exit.ExitCode}");

    private static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => "signal " + signal.ToString(CultureInfo.InvariantCulture),
    };
}
