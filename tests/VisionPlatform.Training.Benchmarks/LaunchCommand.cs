using System.Diagnostics;

namespace VisionPlatform.Training.Benchmarks;

/// <summary>A program, its arguments and extra environment: what the baseline starts with a bare <see cref="Process"/>.</summary>
internal sealed record LaunchCommand(string FileName, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment, string WorkingDirectory)
{
    public Process Start()
    {
        var info = new ProcessStartInfo(FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = WorkingDirectory,
        };
        Directory.CreateDirectory(WorkingDirectory);

        // The same environment as the SDK's child, not this process's whole environment.
        info.Environment.Clear();
        foreach (var a in Arguments)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (name, value) in Environment)
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"{FileName} did not start.");
    }
}
