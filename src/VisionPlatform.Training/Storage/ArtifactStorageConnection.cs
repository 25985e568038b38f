namespace VisionPlatform.Training.Storage;

/// <summary>
/// How a process other than the host reaches the artifact store's bucket: the endpoint, the region and the static
/// credentials, when the host configured them. The storage package (<c>VisionPlatform.Training.Storage</c>,
/// <c>AddArtifactStorage(...)</c>) registers one built from its options, so that an executor package can hand them to
/// trainers that upload by themselves (the Kubernetes cluster set-up writes them into the Jobs' Secret) without
/// depending on the storage implementation. Plain strings, no SDK types. <see cref="ToString"/> never shows a value
/// that may carry a secret.
/// </summary>
public sealed class ArtifactStorageConnection
{
    /// <summary>The endpoint of an S3-compatible service (<c>https://&lt;account&gt;.r2.cloudflarestorage.com</c>), or <see langword="null"/> for AWS S3 itself.</summary>
    public string? ServiceUrl { get; init; }

    /// <summary>The region (AWS S3: selects the endpoint; custom endpoint: the signing region), for example <c>us-east-1</c>.</summary>
    public string? Region { get; init; }

    /// <summary>The static access key id, or <see langword="null"/> when the store uses the ambient credential chain.</summary>
    public string? AccessKeyId { get; init; }

    /// <summary>The static secret access key, or <see langword="null"/> when the store uses the ambient credential chain. A secret: never log it.</summary>
    public string? SecretAccessKey { get; init; }

    /// <summary>Describes the connection; the endpoint and the credentials are reported only as set or unset.</summary>
    /// <returns>The description.</returns>
    public override string ToString() =>
        $"ArtifactStorageConnection {{ ServiceUrl = {(ServiceUrl is null ? "(AWS S3)" : "(set)")}, Region = {Region}, " +
        $"AccessKeyId = {(AccessKeyId is null ? "(unset)" : "(set)")}, SecretAccessKey = {(SecretAccessKey is null ? "(unset)" : "(redacted)")} }}";
}
