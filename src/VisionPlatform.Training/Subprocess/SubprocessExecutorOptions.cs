namespace VisionPlatform.Training.Subprocess;

/// <summary>Options of the local subprocess executor (<c>Training:Subprocess</c>).</summary>
public sealed class SubprocessExecutorOptions
{
    /// <summary>
    /// Where run directories live (default: <c>$XDG_STATE_HOME/visionplatform-training/runs</c>, else
    /// <c>~/.local/state/visionplatform-training/runs</c>, else <c>&lt;temp&gt;/vp-training-runs-&lt;uid&gt;</c>). It is created 0700;
    /// an existing one owned by another user, writable by group or others, or a symbolic link is refused.
    /// </summary>
    public string? RunsDirectory { get; set; }

    /// <summary>The interpreter for frameworks without their own entry (default <c>python3</c>).</summary>
    public string Interpreter { get; set; } = "python3";

    /// <summary>The trainer script for frameworks without their own entry (default <c>train.py</c>).</summary>
    public string Script { get; set; } = "train.py";

    /// <summary>
    /// Whether the host refuses to start when a configured interpreter (<c>Interpreter</c>, <c>Frameworks:&lt;name&gt;:Interpreter</c>)
    /// cannot be found or a configured script (<c>Script</c>, <c>Frameworks:&lt;name&gt;:Script</c>) does not exist (default
    /// <see langword="true"/>: one start-up error names every problem with its key). With <see langword="false"/> the
    /// host starts, the executor's availability and the health check report the problems, and only jobs whose own
    /// interpreter or script is missing are refused; jobs of other frameworks run.
    /// </summary>
    public bool ValidateTrainerOnStart { get; set; } = true;

    /// <summary>Per-framework interpreter, script and environment (per-framework virtual environments).</summary>
    public IDictionary<string, SubprocessFrameworkOptions> Frameworks { get; } =
        new Dictionary<string, SubprocessFrameworkOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>How distributed jobs (a world size greater than 1) run under torchrun on this host.</summary>
    public SubprocessDistributedOptions Distributed { get; } = new();

    /// <summary>How many runs may execute at once; more wait as Pending (default 2).</summary>
    public int MaxConcurrentRuns { get; set; } = 2;

    /// <summary>
    /// How many runs may wait as Pending at once (1-100000, default 1000). A start beyond it fails with
    /// <see cref="TrainingErrorCode.QueueFull"/> and creates nothing, so a flood of starts cannot grow the queue, the run
    /// table and the runs directory without bound.
    /// </summary>
    public int MaxQueuedRuns { get; set; } = 1000;

    /// <summary>GPU indices this host hands out; a run gets its own and sees them in <c>CUDA_VISIBLE_DEVICES</c>.</summary>
    public IList<int> Gpus { get; } = [];

    /// <summary>How long a stopped trainer gets after SIGTERM before the process group is killed (default 30 s).</summary>
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Host environment variables a child may inherit. Nothing else of the host's environment reaches it.
    /// Default: PATH, HOME, LANG, LC_ALL, TZ, TMPDIR, USER, LOGNAME, SYSTEMROOT, PYTHONIOENCODING.
    /// </summary>
    public IList<string> EnvironmentAllowList { get; } =
        ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME", "SYSTEMROOT", "PYTHONIOENCODING"];

    /// <summary>
    /// How often the host looks at live runs: it records new log bytes in the timestamp index, checks reattached
    /// processes and advances followed logs (default 200 ms). Log timestamps are accurate to about this interval.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Extra plain environment variables for every child (non-secret).</summary>
    public IDictionary<string, string> Environment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Whether a run's output directory and log are uploaded to object storage when it ends (default <see langword="true"/>).
    /// Applies only when artifact storage is registered (<c>AddArtifactStorage</c>); without it nothing leaves the machine.
    /// </summary>
    public bool UploadArtifacts { get; set; } = true;

    /// <summary>
    /// How many times the upload of a finished run is attempted before it is reported as failed (1-20, default 3).
    /// Each attempt already retries single requests (<c>Training:Storage:MaxRetryAttempts</c>); this repeats the whole upload.
    /// </summary>
    public int UploadAttempts { get; set; } = 3;

    /// <summary>The wait before the second upload attempt, doubled for each further one, at most 10 minutes (default 30 s).</summary>
    public TimeSpan UploadRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a finished run (Succeeded, Failed, Stopped or Lost) is kept after it ended (default 7 days). Until then
    /// its job id names it: a start with the same id and config returns it, a different config is a conflict. Afterwards
    /// its run directory (state, log, outputs) is removed, at start-up and while the host runs, and a start with the same
    /// job id creates a new run. Must be greater than zero.
    /// </summary>
    public TimeSpan RunRetention { get; set; } = TimeSpan.FromDays(7);
}
