namespace VisionPlatform.Training.Storage;

/// <summary>One local file of a run and where it goes under the run's prefix.</summary>
internal sealed record RunFile(string FullPath, string RelativePath, long Length);

/// <summary>Collects a run's files: the output directory's regular files by relative path, then the log as <c>logs/train.log</c>.</summary>
internal static class RunFiles
{
    public static List<RunFile> Collect(string jobId, string outputDirectory, string? logFile)
    {
        ArtifactKeys.EscapeJobId(jobId); // rejects empty or malformed job ids before any I/O
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        var root = Path.GetFullPath(outputDirectory);
        if (!Directory.Exists(root))
        {
            throw Invalid(jobId, $"The output directory '{root}' of job '{jobId}' does not exist: nothing can be uploaded.");
        }

        string? log = null;
        if (logFile is not null)
        {
            log = Path.GetFullPath(logFile);
            if (!File.Exists(log))
            {
                throw Invalid(jobId, $"The log file '{log}' of job '{jobId}' does not exist: pass an existing file or null.");
            }
        }

        var enumeration = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            AttributesToSkip = FileAttributes.ReparsePoint, // symbolic links could point outside the run
            IgnoreInaccessible = false,
        };

        var files = new List<RunFile>();
        var problems = new List<string>();
        foreach (var path in Directory.EnumerateFiles(root, "*", enumeration).Order(StringComparer.Ordinal))
        {
            if (log is not null && string.Equals(path, log, StringComparison.Ordinal))
            {
                continue; // uploaded once, as logs/train.log
            }

            var relative = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
            if (!ArtifactLayout.IsValidRelativePath(relative, out var reason))
            {
                problems.Add($"'{relative}': {reason}");
            }
            else if (relative == ArtifactLayout.RunManifestFile || (log is not null && relative == ArtifactLayout.TrainLogFile))
            {
                problems.Add($"'{relative}': this path is reserved for the upload's own {(relative == ArtifactLayout.RunManifestFile ? "manifest" : "log")}");
            }
            else
            {
                files.Add(new RunFile(path, relative, new FileInfo(path).Length));
            }
        }

        if (problems.Count > 0)
        {
            throw Invalid(jobId, $"The output directory '{root}' of job '{jobId}' has files that cannot be uploaded: {string.Join("; ", problems)}.");
        }

        if (log is not null)
        {
            files.Add(new RunFile(log, ArtifactLayout.TrainLogFile, new FileInfo(log).Length));
        }

        return files;
    }

    private static TrainingException Invalid(string jobId, string message) =>
        new(TrainingErrorCode.ValidationFailed, message) { JobId = jobId };
}
