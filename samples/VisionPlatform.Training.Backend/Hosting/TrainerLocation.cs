namespace VisionPlatform.Training.Backend.Hosting;

/// <summary>
/// Makes the <c>Training</c> section work from any working directory: the trainer script named in appsettings.json is
/// resolved against the current directory, then the app's directory and its parents (so <c>samples/trainer/train.py</c>
/// is found from the repository root and from the build output). Runs go to the SDK's default runs directory (the host
/// user's own, created 0700) unless configured: never a predictable shared path such as one under /tmp.
/// </summary>
internal static class TrainerLocation
{
    private const string ScriptKey = "Training:Subprocess:Script";

    public static void Apply(IConfigurationManager configuration)
    {
        var script = configuration[ScriptKey];
        if (!string.IsNullOrEmpty(script) && !Path.IsPathRooted(script))
        {
            configuration[ScriptKey] = Resolve(script)
                ?? throw new InvalidOperationException($"{ScriptKey}: '{script}' was not found in the current directory, the app directory or any of its parents.");
        }
    }

    private static string? Resolve(string relative)
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
