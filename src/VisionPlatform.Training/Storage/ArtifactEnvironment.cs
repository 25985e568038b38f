namespace VisionPlatform.Training.Storage;

/// <summary>
/// The two plain environment variables that tell a trainer where its run's artifacts belong, set by both executors when an
/// <see cref="IArtifactStore"/> is registered (<c>AddArtifactStorage(...)</c>): the bucket and the run prefix
/// (<see cref="IArtifactStore.GetRunPrefix"/>). A trainer that uploads by itself (in a pod) writes
/// <c>$VP_ARTIFACT_PREFIX&lt;relative path&gt;</c> to <c>$VP_ARTIFACT_BUCKET</c>, so the backend finds every run's files the
/// same way whichever executor ran it. The Kubernetes executor also sets <see cref="CheckpointUriVariable"/>, where a trainer
/// keeps checkpoints for a replacement pod to resume from. None holds a secret; credentials come from the executors' own settings. The names
/// are reserved: configuring them anywhere else is a validation error. See <c>docs/storage.md</c>.
/// </summary>
public static class ArtifactEnvironment
{
    /// <summary>The bucket the run's artifacts go to (<c>VP_ARTIFACT_BUCKET</c>).</summary>
    public const string BucketVariable = "VP_ARTIFACT_BUCKET";

    /// <summary>The run's key prefix, <c>&lt;prefix&gt;/&lt;escaped job id&gt;/</c>, ending with <c>/</c> (<c>VP_ARTIFACT_PREFIX</c>).</summary>
    public const string PrefixVariable = "VP_ARTIFACT_PREFIX";

    /// <summary>
    /// Where a trainer in a Kubernetes pod keeps its checkpoints so that a replacement pod (after a disruption such as a
    /// preemption or a node drain) can resume from them (<c>TRAINING_CHECKPOINT_URI</c>):
    /// <c>s3://&lt;bucket&gt;/&lt;run prefix&gt;checkpoints/</c>, see <see cref="CheckpointUri"/>. Set by the Kubernetes executor
    /// only; a plain value, never a secret. See <c>docs/kubernetes.md</c> ("Preemption and resume").
    /// </summary>
    public const string CheckpointUriVariable = "TRAINING_CHECKPOINT_URI";

    /// <summary>The reserved names: <see cref="BucketVariable"/>, <see cref="PrefixVariable"/> and <see cref="CheckpointUriVariable"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = [BucketVariable, PrefixVariable, CheckpointUriVariable];

    /// <summary>
    /// Returns the run's checkpoint location, <c>s3://&lt;bucket&gt;/&lt;run prefix&gt;checkpoints/</c> (the run prefix of
    /// <see cref="IArtifactStore.GetRunPrefix"/> followed by <see cref="ArtifactLayout.CheckpointsDirectory"/>), ending with <c>/</c>.
    /// </summary>
    /// <param name="store">The artifact store.</param>
    /// <param name="jobId">The job id.</param>
    /// <returns>The URI, without credentials.</returns>
    public static string CheckpointUri(IArtifactStore store, string jobId)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        return $"s3://{store.Bucket}/{store.GetRunPrefix(jobId)}{ArtifactLayout.CheckpointsDirectory}";
    }

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
