namespace VisionPlatform.Training.Storage;

/// <summary>
/// The two plain environment variables that tell a trainer where its run's artifacts belong, set by both executors when an
/// <see cref="IArtifactStore"/> is registered (<c>AddArtifactStorage(...)</c>): the bucket and the run prefix
/// (<see cref="IArtifactStore.GetRunPrefix"/>). A trainer that uploads by itself (in a pod) writes
/// <c>$VP_ARTIFACT_PREFIX&lt;relative path&gt;</c> to <c>$VP_ARTIFACT_BUCKET</c>, so the backend finds every run's files the
/// same way whichever executor ran it. Neither holds a secret; credentials come from the executors' own settings. The names
/// are reserved: configuring them anywhere else is a validation error. See <c>docs/storage.md</c>.
/// </summary>
public static class ArtifactEnvironment
{
    /// <summary>The bucket the run's artifacts go to (<c>VP_ARTIFACT_BUCKET</c>).</summary>
    public const string BucketVariable = "VP_ARTIFACT_BUCKET";

    /// <summary>The run's key prefix, <c>&lt;prefix&gt;/&lt;escaped job id&gt;/</c>, ending with <c>/</c> (<c>VP_ARTIFACT_PREFIX</c>).</summary>
    public const string PrefixVariable = "VP_ARTIFACT_PREFIX";

    /// <summary>Both variables' names.</summary>
    public static IReadOnlyList<string> Names { get; } = [BucketVariable, PrefixVariable];

    /// <summary>Returns the variables for one run of a store.</summary>
    /// <param name="store">The artifact store.</param>
    /// <param name="jobId">The job id.</param>
    /// <returns>The two variables by name.</returns>
    public static IReadOnlyDictionary<string, string> ForRun(IArtifactStore store, string jobId)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [BucketVariable] = store.Bucket,
            [PrefixVariable] = store.GetRunPrefix(jobId),
        };
    }
}
