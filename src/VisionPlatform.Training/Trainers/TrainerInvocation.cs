namespace VisionPlatform.Training.Trainers;

/// <summary>
/// How to call a trainer for one job: the argument list after the program and script, and the job's environment
/// variables. Executors add the platform's variables (storage, backend URL, GPUs) themselves.
/// </summary>
public sealed class TrainerInvocation
{
    /// <summary>Creates an invocation.</summary>
    /// <param name="arguments">Arguments, each passed to the process as one element; never joined into a shell string.</param>
    /// <param name="environment">Environment variables the contract sets for the job.</param>
    public TrainerInvocation(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(environment);
        Arguments = arguments;
        Environment = environment;
    }

    /// <summary>The arguments, in order.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>The job's environment variables (names and values; no secrets: those come from executor options).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>
    /// The trainer's config to write to <see cref="TrainerLaunchContext.ConfigFilePath"/> before the launch (owner-only),
    /// when it is too large for one argument and the arguments name the file (<c>--config @path</c>); otherwise <see langword="null"/>.
    /// </summary>
    public string? ConfigFileContent { get; init; }

    /// <summary>Names the argument count and environment names only, never values.</summary>
    public override string ToString() =>
        $"TrainerInvocation {{ Arguments = {Arguments.Count}, Environment = [{string.Join(", ", Environment.Keys.Order(StringComparer.Ordinal))}] }}";
}
