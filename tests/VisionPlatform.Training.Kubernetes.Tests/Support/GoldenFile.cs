using System.Runtime.CompilerServices;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// Compares text with a file under <c>Golden/</c>. Set <c>UPDATE_GOLDEN=1</c> to (re)write the files instead, then
/// review the diff in git.
/// </summary>
internal static class GoldenFile
{
    public static void Verify(string name, string actual, [CallerFilePath] string callerPath = "")
    {
        var directory = FindProjectDirectory(callerPath);
        var path = Path.Combine(directory, "Golden", name);
        actual = actual.ReplaceLineEndings("\n");
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            return;
        }

        File.Exists(path).Should().BeTrue($"golden file {path} must exist; run the tests once with UPDATE_GOLDEN=1 to create it");
        var expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        actual.Should().Be(expected, $"the built Job must match {path} (run with UPDATE_GOLDEN=1 and review the diff if the change is intended)");
    }

    private static string FindProjectDirectory(string callerPath)
    {
        var directory = new DirectoryInfo(Path.GetDirectoryName(callerPath)!);
        while (directory is not null && !directory.EnumerateFiles("*.csproj").Any())
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException($"No project directory above {callerPath}.");
    }
}
