namespace VisionPlatform.Training.Storage;

/// <summary>One object of a run in the bucket.</summary>
/// <param name="Key">The full object key, for example <c>jobs/job-42/weights/best.pt</c>.</param>
/// <param name="RelativePath">The path relative to the run's prefix, for example <c>weights/best.pt</c>.</param>
/// <param name="Size">The size in bytes.</param>
/// <param name="LastModified">When the object was last written, as reported by the server.</param>
/// <param name="ETag">The server's entity tag without quotes (an MD5 for single-part uploads on most servers; opaque otherwise).</param>
public sealed record StoredArtifact(string Key, string RelativePath, long Size, DateTimeOffset? LastModified, string? ETag);
