using System.Text.Json.Nodes;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>
/// What the apiserver's registry strategy does for one type: decode-time checks and defaults, PrepareForCreate
/// plus Validate, and PrepareForUpdate plus ValidateUpdate. Errors are thrown as StoreException (400/422).
/// </summary>
public interface IResourceStrategy
{
    /// <summary>Decode and defaulting (400 for undecodable values such as bad quantities, then SetDefaults_*).</summary>
    void Decode(JsonObject obj);

    /// <summary>PrepareForCreate and Validate; runs with the final name and uid set.</summary>
    void PrepareForCreate(JsonObject obj);

    /// <summary>PrepareForUpdate and ValidateUpdate for the main resource; returns the object to store.</summary>
    JsonObject PrepareForUpdate(JsonObject updated, JsonObject existing);

    /// <summary>The same for the status subresource (only status changes).</summary>
    JsonObject PrepareForStatusUpdate(JsonObject updated, JsonObject existing);
}
