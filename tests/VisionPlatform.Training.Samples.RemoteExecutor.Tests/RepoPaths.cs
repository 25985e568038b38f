namespace VisionPlatform.Training.Samples.RemoteExecutor.Tests;

/// <summary>Finds the demo trainer from the build output or the working directory.</summary>
internal static class RepoPaths
{
    public static string TrainerScript { get; } = Find(Path.Combine("samples", "trainer", "train.py"));

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
