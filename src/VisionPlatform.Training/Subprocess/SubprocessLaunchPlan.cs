using System.Text;

namespace VisionPlatform.Training.Subprocess;

/// <summary>
/// What the subprocess executor would run for a job: the program, its argument list and the names of the environment
/// variables the trainer would get. Values are shown only for plain settings; secrets and values inherited from the
/// host are withheld. Made by <see cref="SubprocessTrainingExecutor.CreateLaunchPlan"/> without side effects.
/// </summary>
public sealed class SubprocessLaunchPlan
{
    internal SubprocessLaunchPlan(
        string fileName,
        IReadOnlyList<string> arguments,
        string workingDirectory,
        string logFile,
        IReadOnlyList<SubprocessEnvironmentVariable> environment)
    {
        FileName = fileName;
        Arguments = arguments;
        WorkingDirectory = workingDirectory;
        LogFile = logFile;
        Environment = environment;
    }

    /// <summary>The program: the resolved interpreter (absolute path), or the configured name when it cannot be resolved.</summary>
    public string FileName { get; }

    /// <summary>
    /// The arguments after the program, each one element: the script, then the trainer contract's arguments; for a job
    /// launched by torchrun (<see cref="TrainingLauncher.TorchRun"/>) torchrun's module and options come first
    /// (<c>-m torch.distributed.run ... &lt;script&gt; &lt;trainer arguments&gt;</c>).
    /// </summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>The run directory the trainer would start in.</summary>
    public string WorkingDirectory { get; }

    /// <summary>The log file that would receive stdout and stderr.</summary>
    public string LogFile { get; }

    /// <summary>Every environment variable the trainer would get, in name order; values withheld where noted.</summary>
    public IReadOnlyList<SubprocessEnvironmentVariable> Environment { get; }

    /// <summary>The names of the environment variables, in order.</summary>
    public IReadOnlyList<string> EnvironmentNames => Environment.Select(e => e.Name).ToArray();

    /// <summary>A readable rendering: the command with each argument quoted for display, then the environment without secret values.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(Quote(FileName));
        foreach (var argument in Arguments)
        {
            text.Append(' ').Append(Quote(argument));
        }

        text.AppendLine();
        foreach (var variable in Environment)
        {
            text.Append("  ").AppendLine(variable.ToString());
        }

        return text.ToString();
    }

    private static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':' or '=' or ',' or '@' or '+')
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}

/// <summary>One environment variable of a launch plan.</summary>
/// <param name="Name">The variable's name.</param>
/// <param name="Value">The value, or <see langword="null"/> when it is withheld.</param>
/// <param name="Source">Where it comes from: <c>host</c> (allow-list), <c>options</c>, <c>framework</c>, <c>job</c>, <c>storage</c> (the run's artifact location), <c>platform</c>, <c>gpus</c>, <c>launcher</c> (ultralytics' <c>DEVICE</c> list) or <c>marker</c> (the run's <c>VP_RUN_MARKER</c>, withheld).</param>
public sealed record SubprocessEnvironmentVariable(string Name, string? Value, string Source)
{
    /// <summary>Whether the value is withheld (a secret, or a value inherited from the host).</summary>
    public bool IsWithheld => Value is null;

    /// <summary><c>NAME=value (source)</c>, or <c>NAME=(withheld) (source)</c>.</summary>
    public override string ToString() => $"{Name}={Value ?? "(withheld)"} ({Source})";
}
