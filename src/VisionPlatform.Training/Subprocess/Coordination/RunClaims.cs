namespace VisionPlatform.Training.Subprocess.Coordination;

/// <summary>A set of run directories someone has claimed for a job that must have one doer (indexing a log, uploading).</summary>
internal sealed class RunClaims
{
    private readonly HashSet<string> _claimed = new(StringComparer.Ordinal);

    /// <summary>Claims a run directory.</summary>
    /// <param name="runDirectory">The run directory.</param>
    /// <returns><see langword="true"/> when the caller has the claim now; <see langword="false"/> when someone else has it.</returns>
    public bool TryClaim(string runDirectory)
    {
        lock (_claimed)
        {
            return _claimed.Add(runDirectory);
        }
    }

    /// <summary>Gives a claim back.</summary>
    /// <param name="runDirectory">The run directory.</param>
    public void Release(string runDirectory)
    {
        lock (_claimed)
        {
            _claimed.Remove(runDirectory);
        }
    }
}
