using System.Globalization;

namespace VisionPlatform.Training.Testing;

/// <summary>
/// Options of an <see cref="InMemoryTrainingExecutor"/>. By default runs stay <see cref="TrainingPhase.Pending"/> until the
/// test moves them on (<see cref="InMemoryTrainingExecutor.SetRunning"/>, <see cref="InMemoryTrainingExecutor.Complete"/>, ...);
/// with <see cref="AutoComplete"/> they run and finish on their own after <see cref="AutoCompleteDelay"/>.
/// </summary>
public sealed class InMemoryExecutorOptions
{
    /// <summary>
    /// Runs become <see cref="TrainingPhase.Running"/> as soon as they start and finish with <see cref="AutoCompleteExitCode"/>
    /// after <see cref="AutoCompleteDelay"/> (measured with the executor's <see cref="TimeProvider"/>, so a
    /// <c>FakeTimeProvider</c> controls it). Default <see langword="false"/>: the test drives every transition.
    /// </summary>
    public bool AutoComplete { get; set; }

    /// <summary>How long an automatic run takes from start to finish (default 1 second). Zero finishes it inside <c>StartAsync</c>.</summary>
    public TimeSpan AutoCompleteDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The exit code automatic runs finish with: 0 succeeds, anything else fails (default 0).</summary>
    public int AutoCompleteExitCode { get; set; }

    /// <summary>
    /// Decides per job how an automatic run ends: the exit code it finishes with, or <see langword="null"/> to keep it
    /// running until it is stopped. Default <see langword="null"/>: every automatic run finishes with <see cref="AutoCompleteExitCode"/>.
    /// </summary>
    public Func<TrainingJobConfig, int?>? AutoCompleteExitCodeFor { get; set; }

    /// <summary>
    /// The log lines an automatic run writes just before it finishes. Default: per epoch a line <c>epoch i/N</c> and a
    /// <c>VP_PROGRESS</c> line (so the run reports progress as a real trainer does), then <c>training finished</c>.
    /// Return an empty sequence for no output.
    /// </summary>
    public Func<TrainingJobConfig, IEnumerable<string>> AutoCompleteLog { get; set; } = DefaultLog;

    /// <summary>
    /// The most GPUs one job may request. A job asking for more is refused by <c>StartAsync</c> with a
    /// <see cref="TrainingValidationException"/> naming <c>Resources.Gpus</c> before anything starts, as the subprocess executor
    /// refuses more GPUs than its host hands out. Default <see langword="null"/>: any number.
    /// </summary>
    public int? MaxGpus { get; set; }

    /// <summary>
    /// How long the record of a finished (succeeded, failed, stopped or lost) run is kept, measured from its finish time
    /// with the executor's <see cref="TimeProvider"/>. Until then a start with the same job id returns that run (or throws
    /// <see cref="TrainingErrorCode.JobConflict"/> for a different config); afterwards the run is gone (<see cref="TrainingPhase.NotFound"/>)
    /// and the job id starts a new run, as after a Kubernetes Job's TTL. Default <see langword="null"/>: records are kept
    /// for the executor's lifetime.
    /// </summary>
    public TimeSpan? RunRetention { get; set; }

    /// <summary>Whether the executor starts out available (default <see langword="true"/>); see <see cref="InMemoryTrainingExecutor.SetAvailable"/>.</summary>
    public bool Available { get; set; } = true;

    /// <summary>Why the executor is unavailable when <see cref="Available"/> is <see langword="false"/>.</summary>
    public string? UnavailableReason { get; set; }

    /// <summary>Lists every broken rule, each naming the option.</summary>
    /// <returns>The problems; empty when the options are valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (AutoCompleteDelay < TimeSpan.Zero || AutoCompleteDelay > TimeSpan.FromDays(1))
        {
            errors.Add($"InMemoryExecutorOptions.AutoCompleteDelay is {AutoCompleteDelay.ToString("c", CultureInfo.InvariantCulture)}: it must be between 00:00:00 and 1.00:00:00.");
        }

        if (AutoCompleteLog is null)
        {
            errors.Add("InMemoryExecutorOptions.AutoCompleteLog is null: set a function (return an empty sequence for no output).");
        }

        if (MaxGpus is < 0)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"InMemoryExecutorOptions.MaxGpus is {MaxGpus}: it must be 0 or more (null for no limit)."));
        }

        if (RunRetention is { } retention && (retention < TimeSpan.Zero || retention > TimeSpan.FromDays(3650)))
        {
            errors.Add($"InMemoryExecutorOptions.RunRetention is {retention.ToString("c", CultureInfo.InvariantCulture)}: it must be between 00:00:00 and 3650.00:00:00 (null to keep records).");
        }

        if (!Available && string.IsNullOrWhiteSpace(UnavailableReason))
        {
            errors.Add("InMemoryExecutorOptions.UnavailableReason is required when Available is false: callers see it in ExecutorAvailability.Reason.");
        }

        return errors;
    }

    internal InMemoryExecutorOptions Clone() => new()
    {
        AutoComplete = AutoComplete,
        AutoCompleteDelay = AutoCompleteDelay,
        AutoCompleteExitCode = AutoCompleteExitCode,
        AutoCompleteExitCodeFor = AutoCompleteExitCodeFor,
        AutoCompleteLog = AutoCompleteLog,
        MaxGpus = MaxGpus,
        RunRetention = RunRetention,
        Available = Available,
        UnavailableReason = UnavailableReason,
    };

    internal void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, errors), "options");
        }
    }

    private static IEnumerable<string> DefaultLog(TrainingJobConfig config)
    {
        for (var epoch = 1; epoch <= config.Epochs; epoch++)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"epoch {epoch}/{config.Epochs}");
            yield return TrainingProgressProtocol.Format(epoch, config.Epochs, metrics: new Dictionary<string, double>(StringComparer.Ordinal)
            {
                ["loss"] = Math.Round(1.0 / (epoch + 1), 6),
            });
        }

        yield return "training finished";
    }
}
