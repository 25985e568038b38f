namespace VisionPlatform.Training.Benchmarks;

/// <summary>Finds the repository's files (the demo trainer) from the build output or the working directory.</summary>
internal static class RepoPaths
{
    public static string TrainerScript { get; } = Find(Path.Combine("samples", "trainer", "train.py"));

    /// <summary>
    /// The real python3 binary (<c>sys.executable</c>), not a launcher shim such as pyenv's, whose own start-up
    /// (hundreds of milliseconds) would otherwise dominate and blur the spawn comparison. Both sides use it.
    /// </summary>
    public static string PythonExecutable { get; } = ResolvePython();

    private static string ResolvePython()
    {
        var info = new System.Diagnostics.ProcessStartInfo("python3") { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("import sys; print(sys.executable)");
        using var process = System.Diagnostics.Process.Start(info) ?? throw new InvalidOperationException("python3 did not start.");
        var path = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return process.ExitCode == 0 && File.Exists(path) ? path : "python3";
    }

    private static string Find(string relative)
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, relative);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException($"{relative} was not found above {Directory.GetCurrentDirectory()} or {AppContext.BaseDirectory}.");
    }
}
