using Microsoft.Extensions.Configuration;
using VisionPlatform.Training.QuickStart.CommandLine;

namespace VisionPlatform.Training.QuickStart.Hosting;

/// <summary>
/// Makes the sample's <c>Training</c> section work from any working directory: the trainer script named in
/// appsettings.json is resolved against the current directory, then the app's base directory and its parents (so
/// <c>samples/trainer/train.py</c> is found from the repository root and from the build output), and runs go under
/// the system temp directory unless configured.
/// </summary>
internal static class QuickStartConfiguration
{
    private const string ScriptKey = "Training:Subprocess:Script";
    private const string RunsKey = "Training:Subprocess:RunsDirectory";

    public static void Apply(IConfigurationManager configuration, QuickStartCommand command)
    {
        var script = configuration[ScriptKey];
        if (!string.IsNullOrEmpty(script) && !Path.IsPathRooted(script))
        {
            configuration[ScriptKey] = ResolveScript(script)
                ?? throw new UsageException($"{ScriptKey}: '{script}' was not found in the current directory, the app directory or any of its parents");
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
