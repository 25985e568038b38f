using Microsoft.Extensions.Configuration;
using VisionPlatform.Training.QuickStart.CommandLine;

namespace VisionPlatform.Training.QuickStart.Hosting;

/// <summary>
/// Makes the sample's <c>Training</c> section work from any working directory: the trainer script named in
/// appsettings.json is resolved against the current directory, then the app's base directory and its parents (so
/// <c>samples/trainer/train.py</c> is found from the repository root and from the build output), and runs go under
/// the system temp directory unless configured. <c>--framework pytorch</c> runs the PyTorch reference trainer
/// (<c>samples/trainer/train_torch.py</c>) with <c>/usr/bin/python3</c> (Debian's <c>python3-torch</c>) unless
/// <c>Training:Subprocess:Frameworks:pytorch:Script</c> / <c>:Interpreter</c> say otherwise.
/// </summary>
internal static class QuickStartConfiguration
{
    private const string ScriptKey = "Training:Subprocess:Script";
    private const string RunsKey = "Training:Subprocess:RunsDirectory";
    private const string PyTorchKey = "Training:Subprocess:Frameworks:pytorch";

    /// <summary>The PyTorch reference trainer, for <c>--framework pytorch</c> unless <c>Frameworks:pytorch:Script</c> is configured.</summary>
    private const string PyTorchScript = "samples/trainer/train_torch.py";

    /// <summary>Where Debian's <c>python3-torch</c> is importable; the <c>python3</c> first on PATH may be another Python without torch.</summary>
    private const string SystemPython = "/usr/bin/python3";

    public static void Apply(IConfigurationManager configuration, QuickStartCommand command)
    {
        ResolveScriptKey(configuration, ScriptKey);
        if (string.Equals(command.Job.Framework.Value, TrainingFramework.PyTorch.Value, StringComparison.Ordinal))
        {
            // Only for --framework pytorch, so the default demo run never depends on torch being installed.
            configuration[$"{PyTorchKey}:Script"] ??= PyTorchScript;
            ResolveScriptKey(configuration, $"{PyTorchKey}:Script");
            if (string.IsNullOrEmpty(configuration[$"{PyTorchKey}:Interpreter"]) && File.Exists(SystemPython))
            {
                configuration[$"{PyTorchKey}:Interpreter"] = SystemPython;
            }
        }

        // The QuickStart starts one run per process: its queue and priorities are the host's for this process.
        if (command.Queue is { } queue)
        {
            configuration["Training:Kubernetes:Kueue:QueueName"] = queue;
        }

        if (command.PriorityClass is { } priority)
        {
            configuration["Training:Kubernetes:Kueue:WorkloadPriorityClass"] = priority;
        }

        if (command.PodPriorityClass is { } podPriority)
        {
            configuration["Training:Kubernetes:PriorityClassName"] = podPriority;
        }

        if (command.OutputDirectory is { } output)
        {
            configuration[RunsKey] = Path.GetFullPath(output);
        }
        else if (string.IsNullOrEmpty(configuration[RunsKey]))
        {
            configuration[RunsKey] = Path.Combine(Path.GetTempPath(), "visionplatform-quickstart", "runs");
        }
    }

    private static void ResolveScriptKey(IConfigurationManager configuration, string key)
    {
        var script = configuration[key];
        if (!string.IsNullOrEmpty(script) && !Path.IsPathRooted(script))
        {
            configuration[key] = ResolveScript(script)
                ?? throw new UsageException($"{key}: '{script}' was not found in the current directory, the app directory or any of its parents");
        }
    }

    private static string? ResolveScript(string relative)
    {
        var candidate = Path.GetFullPath(relative);
        if (File.Exists(candidate))
        {
            return candidate;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
