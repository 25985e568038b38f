using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training;

/// <summary>
/// How the trainer is called and which platform settings it receives (<c>Training:Trainer</c>). Executors turn these
/// into the contract's environment: plain values locally, Secret and ConfigMap references on Kubernetes.
/// </summary>
public sealed class TrainerOptions
{
    /// <summary><c>flags</c> (the documented train.py flags, default) or <c>json-config</c> (the newer <c>--config &lt;json&gt;</c> trainers).</summary>
    public string Contract { get; set; } = FlagTrainerContract.ContractName;

    /// <summary>Where the trainer reports progress (<c>BACKEND_API_URL</c>).</summary>
    public string? BackendApiUrl { get; set; }

    /// <summary>Experiment tracking server (<c>MLFLOW_TRACKING_URI</c>).</summary>
    public string? MlflowTrackingUri { get; set; }

    /// <summary>Object storage endpoint for local runs (<c>AWS_S3_ENDPOINT_URL</c>).</summary>
    public string? StorageEndpointUrl { get; set; }

    /// <summary>Object storage access key id for local runs (<c>AWS_ACCESS_KEY_ID</c>).</summary>
    public string? StorageAccessKeyId { get; set; }

    /// <summary>Object storage secret key for local runs (<c>AWS_SECRET_ACCESS_KEY</c>). Never logged or echoed.</summary>
    public string? StorageSecretAccessKey { get; set; }

    /// <summary>Names the set settings without their values.</summary>
    public override string ToString() =>
        $"TrainerOptions {{ Contract = {Contract}, BackendApiUrl = {BackendApiUrl}, StorageEndpointUrl = {StorageEndpointUrl}, StorageAccessKeyId = {(StorageAccessKeyId is null ? "(unset)" : "(set)")}, StorageSecretAccessKey = {(StorageSecretAccessKey is null ? "(unset)" : "(redacted)")} }}";
}
