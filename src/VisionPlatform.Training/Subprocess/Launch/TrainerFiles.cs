using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Subprocess.Launch;

/// <summary>
/// Checks the trainer files the subprocess options name: the default interpreter and script and every framework's own.
/// Used at start-up (<c>ValidateTrainerOnStart</c>) and by the executor's availability; every problem names its key.
/// </summary>
internal static class TrainerFiles
{
    /// <summary>Every problem of the configured interpreters and scripts, each naming its configuration key.</summary>
    /// <param name="options">The options.</param>
    /// <param name="key">The subprocess section's path, for example <c>Training:Subprocess</c>.</param>
    /// <returns>The problems, or an empty list.</returns>
    public static List<string> Problems(TrainingOptions options, string key) =>
        Problems(new SubprocessLaunchPlanner(options, new FlagTrainerContract()), options.Subprocess, key);

    /// <summary>Every problem of the configured interpreters and scripts, each naming its configuration key.</summary>
    /// <param name="planner">Resolves interpreters as a launch does.</param>
    /// <param name="s">The subprocess options the planner was built with.</param>
    /// <param name="key">The subprocess section's path, for example <c>Training:Subprocess</c>.</param>
    /// <returns>The problems, or an empty list.</returns>
    public static List<string> Problems(SubprocessLaunchPlanner planner, SubprocessExecutorOptions s, string key)
    {
        var problems = new List<string>();
        CheckInterpreter(planner, problems, s.Interpreter, $"{key}:Interpreter", framework: null);
        CheckScript(problems, s.Script, $"{key}:Script", framework: null);
        foreach (var (name, f) in s.Frameworks.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            if (f.Interpreter is { Length: > 0 } interpreter)
            {
                CheckInterpreter(planner, problems, interpreter, $"{key}:Frameworks:{name}:Interpreter", name);
            }

            if (f.Script is { Length: > 0 } script)
            {
                CheckScript(problems, script, $"{key}:Frameworks:{name}:Script", name);
            }
        }

        return problems;
    }

    private static void CheckInterpreter(SubprocessLaunchPlanner planner, List<string> problems, string value, string key, string? framework)
    {
        if (!string.IsNullOrWhiteSpace(value) && planner.ResolveInterpreter(value) is null)
        {
            problems.Add($"{key} is '{value}', which cannot be found (not an existing file, nor a program in PATH): {Fix(framework, "Interpreter", key)}");
        }
    }

    private static void CheckScript(List<string> problems, string value, string key, string? framework)
    {
        if (!string.IsNullOrWhiteSpace(value) && !File.Exists(Path.GetFullPath(value)))
        {
            problems.Add($"{key} is '{value}', which does not exist (a relative path is resolved against the host's current directory '{System.Environment.CurrentDirectory}'): {Fix(framework, "Script", key)}");
        }
    }

    private static string Fix(string? framework, string setting, string key) => framework is null
        ? setting == "Script" ? "point it at the trainer's train.py." : "install it or point it at an existing Python."
        : $"create it, or remove the setting so '{framework}' jobs use {key[..key.IndexOf(":Frameworks:", StringComparison.Ordinal)]}:{setting}.";
}
