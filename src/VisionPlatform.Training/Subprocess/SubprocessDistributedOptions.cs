namespace VisionPlatform.Training.Subprocess;

/// <summary>
/// How the subprocess executor runs distributed jobs (<c>Training:Subprocess:Distributed</c>): a job whose world size is
/// greater than 1 runs under torchrun on this host (see <c>docs/distributed.md</c>).
/// </summary>
public sealed class SubprocessDistributedOptions
{
    /// <summary>Most restarts one setting allows.</summary>
    public const int MaxAllowedRestarts = 100;

    /// <summary>
    /// How many times torchrun restarts the whole group after one of its processes fails (0-100, default 3): every
    /// process is stopped and started again, and the trainer resumes from its newest checkpoint. When they are used up
    /// the run fails. Passed as <c>--max_restarts</c>.
    /// </summary>
    public int MaxRestarts { get; set; } = 3;
}
