namespace VisionPlatform.Training.Storage;

/// <summary>One file written by <see cref="IArtifactStore.UploadRunAsync"/>, verified against what the server stored.</summary>
/// <param name="Key">The object key.</param>
/// <param name="RelativePath">The path relative to the run's prefix.</param>
/// <param name="Size">The size in bytes.</param>
/// <param name="Sha256">The SHA-256 of the content (lowercase hex), also stored as the object's <c>x-amz-meta-sha256</c>.</param>
public sealed record UploadedArtifact(string Key, string RelativePath, long Size, string Sha256);

/// <summary>The outcome of <see cref="IArtifactStore.UploadRunAsync"/>.</summary>
/// <param name="JobId">The job id.</param>
/// <param name="Bucket">The bucket.</param>
/// <param name="RunPrefix">The run's key prefix, ending with <c>/</c>.</param>
/// <param name="Artifacts">Every uploaded file, including <c>logs/train.log</c> and the <c>upload-manifest.json</c> manifest, in upload order.</param>
/// <param name="RemovedStaleObjects">Files listed in the previous upload's manifest (unchanged in size) that were not part of this one and were removed.</param>
public sealed record RunUploadResult(
    string JobId,
    string Bucket,
    string RunPrefix,
    IReadOnlyList<UploadedArtifact> Artifacts,
    int RemovedStaleObjects)
{
    /// <summary>The total number of bytes uploaded.</summary>
    public long TotalBytes => Artifacts.Sum(a => a.Size);
}
