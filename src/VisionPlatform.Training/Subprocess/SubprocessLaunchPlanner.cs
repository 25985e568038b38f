using System.Globalization;
using VisionPlatform.Training.Subprocess.Native;
using VisionPlatform.Training.Subprocess.Runs;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Subprocess;

/// <summary>Turns a job into the exact program, argument list and environment of its trainer process.</summary>
internal sealed class SubprocessLaunchPlanner(TrainingOptions options, ITrainerContract contract, Storage.IArtifactStore? artifactStore = null)
{
    private const string Key = TrainingOptions.SectionName + ":Subprocess";

    private static readonly HashSet<string> SecretNames = new(StringComparer.Ordinal) { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY" };

    /// <summary>The configured interpreter for a framework and the configuration key it comes from.</summary>
    public (string Value, string Key) InterpreterFor(TrainingFramework framework) =>
        Frameworks(framework) is { Interpreter: { Length: > 0 } i }
            ? (i, $"{Key}:Frameworks:{framework.Value}:Interpreter")
            : (options.Subprocess.Interpreter, $"{Key}:Interpreter");

    /// <summary>The configured script for a framework and the configuration key it comes from.</summary>
    public (string Value, string Key) ScriptFor(TrainingFramework framework) =>
        Frameworks(framework) is { Script: { Length: > 0 } s }
            ? (s, $"{Key}:Frameworks:{framework.Value}:Script")
            : (options.Subprocess.Script, $"{Key}:Script");

    /// <summary>Resolves an interpreter: a path (relative to the host's current directory), or a name searched in PATH.</summary>
    /// <param name="interpreter">The configured value.</param>
    /// <returns>The absolute path of an existing file, or <see langword="null"/>.</returns>
    public string? ResolveInterpreter(string interpreter)
    {
        if (string.IsNullOrWhiteSpace(interpreter))
        {
            return null;
        }

        if (interpreter.Contains('/', StringComparison.Ordinal) || interpreter.Contains('\\', StringComparison.Ordinal))
        {
            var full = Path.GetFullPath(interpreter);
            return File.Exists(full) ? full : null;
        }

        var path = options.Subprocess.Environment.TryGetValue("PATH", out var configured)
            ? configured
            : System.Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var candidate in OperatingSystem.IsWindows() ? [interpreter, interpreter + ".exe"] : new[] { interpreter })
            {
                var full = Path.Combine(dir, candidate);
                if (File.Exists(full))
                {
                    return Path.GetFullPath(full);
                }
            }
        }

        return null;
    }

    /// <summary>Checks that the job's interpreter and script exist; the message names the key to fix.</summary>
    /// <param name="framework">The job's framework.</param>
    /// <returns>The problem, or <see langword="null"/>.</returns>
    public string? CheckLaunchable(TrainingFramework framework)
    {
        var (interpreter, interpreterKey) = InterpreterFor(framework);
        if (ResolveInterpreter(interpreter) is null)
        {
            return $"The interpreter '{interpreter}' cannot be found (not an existing file, nor a program in PATH): fix {interpreterKey}.";
        }

        var (script, scriptKey) = ScriptFor(framework);
        if (string.IsNullOrWhiteSpace(script) || !File.Exists(Path.GetFullPath(script)))
        {
            return $"The trainer script '{script}' does not exist (relative paths are resolved against the host's current directory '{System.Environment.CurrentDirectory}'): fix {scriptKey}.";
        }

        return null;
    }

    /// <summary>Builds the full launch (with secret values, for the process only).</summary>
    /// <param name="config">The job.</param>
    /// <param name="paths">The run's paths.</param>
    /// <param name="gpus">The GPUs handed to the run.</param>
    /// <returns>The launch and the displayable environment.</returns>
    public (LaunchSpec Spec, List<SubprocessEnvironmentVariable> Display) Build(TrainingJobConfig config, RunPaths paths, IReadOnlyList<int> gpus)
    {
        var (interpreter, _) = InterpreterFor(config.Framework);
        var (script, _) = ScriptFor(config.Framework);
        var fileName = ResolveInterpreter(interpreter) ?? interpreter;
        var invocation = contract.CreateInvocation(config, new TrainerLaunchContext { OutputDirectory = paths.OutputDirectory, ConfigFilePath = paths.ConfigFile });

        // A distributed job runs under its launcher: torchrun gets the script and the trainer's arguments after its own.
        var arguments = Launch.DistributedLaunch.Arguments(
            config,
            Path.GetFullPath(script),
            invocation.Arguments,
            options.Subprocess.Distributed.MaxRestarts,
            paths.TorchRunLogDirectory,
            Launch.DistributedLaunch.NewRendezvousId());

        // Later sources win, and the job comes first: the operator's values (the host allow-list, PATH, HOME, the
        // configured environment) and the platform's cannot be overridden by a job. Nothing of the host's environment
        // is passed unless it is on the allow-list.
        var environment = new Dictionary<string, (string Value, string Source)>(StringComparer.Ordinal);
        Add(environment, invocation.Environment, "job");
        foreach (var name in options.Subprocess.EnvironmentAllowList)
        {
            if (System.Environment.GetEnvironmentVariable(name) is { } value)
            {
                environment[name] = (value, "host");
            }
        }

        Add(environment, options.Subprocess.Environment, "options");
        if (Frameworks(config.Framework) is { } framework)
        {
            Add(environment, framework.Environment, "framework");
        }

        if (artifactStore is not null)
        {
            // Where the run's artifacts belong, as a pod trainer is told: the same two plain variables in both executors.
            Add(environment, Storage.ArtifactEnvironment.ForRun(artifactStore, config.JobId), "storage");
        }

        var trainer = options.Trainer;
        AddIfSet(environment, "AWS_S3_ENDPOINT_URL", trainer.StorageEndpointUrl);
        AddIfSet(environment, "AWS_ACCESS_KEY_ID", trainer.StorageAccessKeyId);
        AddIfSet(environment, "AWS_SECRET_ACCESS_KEY", trainer.StorageSecretAccessKey);
        AddIfSet(environment, "BACKEND_API_URL", trainer.BackendApiUrl);
        AddIfSet(environment, "MLFLOW_TRACKING_URI", trainer.MlflowTrackingUri);
        environment["CUDA_VISIBLE_DEVICES"] = (
            gpus.Count == 0 ? "-1" : string.Join(',', gpus.Select(g => g.ToString(CultureInfo.InvariantCulture))),
            "gpus");

        // The launcher's own variables come last: a distributed job may not set them (DistributionRules), and neither
        // may the host's configuration, because a wrong device list starts the wrong number of workers.
        Add(environment, Launch.DistributedLaunch.Environment(config), "launcher");

        // Proof that a process belongs to this run (checked in /proc/<pid>/environ before survivors are signalled).
        var marker = RunMarker.New();
        environment[RunMarker.Variable] = (marker, "marker");

        var ordered = environment.OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        EnsureFitsExec(arguments, ordered);
        var spec = new LaunchSpec(
            fileName,
            arguments,
            ordered.Select(p => new KeyValuePair<string, string>(p.Key, p.Value.Value)).ToArray(),
            paths.Directory,
            paths.LogFile,
            marker,
            OperatingSystem.IsLinux() ? paths.StatusFile : null,
            invocation.ConfigFileContent is { } content ? new LaunchFile(paths.ConfigFile, content) : null);
        var display = ordered
            .Select(p => new SubprocessEnvironmentVariable(
                p.Key,
                SecretNames.Contains(p.Key) || p.Value.Source is "host" or "marker" ? null : p.Value.Value,
                p.Value.Source))
            .ToList();
        return (spec, display);
    }

    /// <summary>
    /// Refuses, before anything is created, an argument or environment string longer than one <c>execve</c> string may
    /// be (Linux <c>MAX_ARG_STRLEN</c>): it would fail at launch with E2BIG. Values are not echoed.
    /// </summary>
    private static void EnsureFitsExec(List<string> arguments, List<KeyValuePair<string, (string Value, string Source)>> environment)
    {
        var errors = new List<TrainingValidationError>();
        foreach (var argument in arguments.Where(a => ArgumentLimits.Bytes(a) > ArgumentLimits.MaxStringBytes))
        {
            errors.Add(new("Arguments", string.Create(CultureInfo.InvariantCulture, $"({ArgumentLimits.Bytes(argument)} bytes)"), string.Create(CultureInfo.InvariantCulture, $"each trainer argument must be at most {ArgumentLimits.MaxStringBytes} bytes of UTF-8 (Linux MAX_ARG_STRLEN, 128 KiB)")));
        }

        foreach (var (name, (value, source)) in environment.Where(p => ArgumentLimits.Bytes(p.Key) + 1 + ArgumentLimits.Bytes(p.Value.Value) > ArgumentLimits.MaxStringBytes))
        {
            errors.Add(new(source == "job" ? $"Environment[{name}]" : name, null, string.Create(CultureInfo.InvariantCulture, $"NAME=value must be at most {ArgumentLimits.MaxStringBytes} bytes of UTF-8 (Linux MAX_ARG_STRLEN, 128 KiB)")));
        }

        if (errors.Count > 0)
        {
            throw new TrainingValidationException(errors);
        }
    }

    private SubprocessFrameworkOptions? Frameworks(TrainingFramework framework) =>
        options.Subprocess.Frameworks.TryGetValue(framework.Value, out var f) ? f : null;

    private static void Add(Dictionary<string, (string, string)> target, IEnumerable<KeyValuePair<string, string>> values, string source)
    {
        foreach (var (name, value) in values)
        {
            target[name] = (value, source);
        }
    }

    private static void AddIfSet(Dictionary<string, (string, string)> target, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            target[name] = (value, "platform");
        }
    }
}
