using System.Text.Json;

namespace VisionPlatform.Training.Subprocess.Runs;

/// <summary>Reads and writes <c>state.json</c> atomically (write a temporary file, then rename), so readers never see half a file.</summary>
internal static class RunStore
{
    /// <summary>Publishes the first state of a new run. Fails when the run already exists, also across processes.</summary>
    /// <param name="paths">The run's paths (the directory must exist).</param>
    /// <param name="state">The state.</param>
    /// <returns><see langword="true"/> when this call created the run; <see langword="false"/> when it already existed.</returns>
    public static bool TryCreate(RunPaths paths, RunStateDocument state)
    {
        var temp = WriteTemp(paths, state);
        try
        {
            // File.Move without overwrite is an exclusive publish (link/rename-noreplace): exactly one creator wins.
            File.Move(temp, paths.StateFile, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(paths.StateFile))
        {
            File.Delete(temp);
            return false;
        }
    }

    /// <summary>Replaces the state.</summary>
    /// <param name="paths">The run's paths.</param>
    /// <param name="state">The state.</param>
    public static void Save(RunPaths paths, RunStateDocument state)
    {
        var temp = WriteTemp(paths, state);
        File.Move(temp, paths.StateFile, overwrite: true);
    }

    /// <summary>Reads the state, or <see langword="null"/> when there is none or it cannot be read.</summary>
    /// <param name="paths">The run's paths.</param>
    public static RunStateDocument? TryLoad(RunPaths paths)
    {
        try
        {
            using var stream = new FileStream(paths.StateFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return JsonSerializer.Deserialize(stream, RunStateJsonContext.Default.RunStateDocument);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string WriteTemp(RunPaths paths, RunStateDocument state)
    {
        var temp = Path.Combine(paths.Directory, $".state.{Guid.NewGuid():N}.tmp");
        using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, state, RunStateJsonContext.Default.RunStateDocument);
            stream.Flush(flushToDisk: true);
        }

        return temp;
    }
}
