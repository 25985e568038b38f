namespace VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

/// <summary>
/// How the node agent runs a container of one image as a local process. The container's <c>command</c> followed by its
/// <c>args</c> (the argv an image would see) is passed through <see cref="RewriteCommand"/>; the process is then
/// <see cref="Program"/> with <see cref="PrefixArguments"/> and the rewritten argv, as an argument list (never a shell).
/// </summary>
public sealed record ImageMapping
{
    /// <summary>The local program; null runs the first element of the (rewritten) argv.</summary>
    public string? Program { get; init; }

    /// <summary>Arguments placed before the container's argv.</summary>
    public IReadOnlyList<string> PrefixArguments { get; init; } = [];

    /// <summary>Rewrites the container's argv (<c>command</c> + <c>args</c>); null keeps it as is.</summary>
    public Func<IReadOnlyList<string>, IReadOnlyList<string>>? RewriteCommand { get; init; }

    /// <summary>
    /// When set, containers of this image start no process: the function decides from the container's argv and
    /// environment how long it runs and how it exits (see <see cref="Simulated(Func{SimulatedContainerStart, SimulatedRun})"/>).
    /// </summary>
    public Func<SimulatedContainerStart, SimulatedRun>? Simulation { get; init; }

    /// <summary>Runs the container's own <c>command</c>/<c>args</c> unchanged, resolved on the local PATH.</summary>
    public static ImageMapping Passthrough { get; } = new();

    /// <summary>Runs <paramref name="program"/> with <paramref name="prefixArguments"/> before the container's argv.</summary>
    public static ImageMapping Command(string program, params string[] prefixArguments) =>
        new() { Program = program, PrefixArguments = prefixArguments };

    /// <summary>
    /// A trainer image whose entrypoint is <c>python train.py</c>: runs <paramref name="pythonProgram"/> (default
    /// <c>python3</c>) on the local <paramref name="trainScriptPath"/>. A leading <c>python</c>/<c>python3</c> in the
    /// container's command is dropped and any <c>train.py</c> (bare or absolute, e.g. <c>/app/train.py</c>) is replaced by
    /// the local script; when the container has no command (the image's entrypoint would run), the script is prepended.
    /// A wrapper's inner interpreter (the <c>python</c> right after <c>--</c>, as in the group supervisor's
    /// <c>python -c &lt;program&gt; -- python -m torch.distributed.run ...</c>) becomes <paramref name="pythonProgram"/> too.
    /// </summary>
    public static ImageMapping PythonTrainer(string trainScriptPath, string pythonProgram = "python3") => new()
    {
        Program = pythonProgram,
        RewriteCommand = argv =>
        {
            var rest = argv.SkipWhile(IsPython).ToList();
            // A wrapper's inner command (python -c <program> -- python -m ...) runs the same interpreter.
            for (var i = 1; i < rest.Count; i++)
            {
                if (rest[i - 1] == "--" && IsPython(rest[i]))
                {
                    rest[i] = pythonProgram;
                }
            }

            var scriptIndex = rest.FindIndex(a => a == "train.py" || a.EndsWith("/train.py", StringComparison.Ordinal));
            if (scriptIndex >= 0)
            {
                rest[scriptIndex] = trainScriptPath;
                return rest;
            }

            return [trainScriptPath, .. rest];
        },
    };

    /// <summary>
    /// A simulated image: each container runs for the time <paramref name="behaviour"/> returns and exits with its exit
    /// code, without starting a local process. The pod goes through the same states as with a process (ContainerCreating,
    /// Running, Completed/Error), so thousands of pods cost timers, not processes.
    /// </summary>
    public static ImageMapping Simulated(Func<SimulatedContainerStart, SimulatedRun> behaviour)
    {
        ArgumentNullException.ThrowIfNull(behaviour);
        return new() { Simulation = behaviour };
    }

    /// <summary>A simulated image whose containers all run for <paramref name="runTime"/> and exit with <paramref name="exitCode"/>.</summary>
    public static ImageMapping Simulated(TimeSpan runTime, int exitCode = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runTime, TimeSpan.Zero);
        var run = new SimulatedRun(runTime, exitCode);
        return Simulated(_ => run);
    }

    internal IReadOnlyList<string> BuildArgv(IReadOnlyList<string> containerArgv)
    {
        var rewritten = RewriteCommand is null ? containerArgv : RewriteCommand(containerArgv);
        return Program is null ? [.. PrefixArguments, .. rewritten] : [Program, .. PrefixArguments, .. rewritten];
    }

    private static bool IsPython(string argument)
    {
        var name = System.IO.Path.GetFileName(argument);
        return name is "python" or "python3" || (name.StartsWith("python3.", StringComparison.Ordinal) && !name.EndsWith(".py", StringComparison.Ordinal));
    }
}
