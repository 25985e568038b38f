using System.Text.Json;
using VisionPlatform.Training.Subprocess.Native;

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
    /// <param name="skipped">Told why a state that exists is not read (a symbolic link, a FIFO, a directory, no permission).</param>
    public static RunStateDocument? TryLoad(RunPaths paths, Action<string, string>? skipped = null)
    {
        try
        {
            using var stream = Native.SafeFiles.OpenRead(paths.StateFile);
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
        catch (NotRegularFileException e)
        {
            skipped?.Invoke(paths.StateFile, e.Message);
            return null;
        }
        catch (UnauthorizedAccessException e)
        {
            skipped?.Invoke(paths.StateFile, e.Message);
            return null;
        }
    }

    private static string WriteTemp(RunPaths paths, RunStateDocument state)
    {
        var temp = Path.Combine(paths.Directory, $".state.{Guid.NewGuid():N}.tmp");
        using (var stream = Native.SafeFiles.CreateNew(temp))
        {
            JsonSerializer.Serialize(stream, state, RunStateJsonContext.Default.RunStateDocument);
            stream.Flush(flushToDisk: true);
        }

        return temp;
    }
}
