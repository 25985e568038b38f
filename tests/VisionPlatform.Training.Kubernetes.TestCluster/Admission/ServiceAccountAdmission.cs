using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Admission;

/// <summary>
/// The ServiceAccount admission plugin: a pod runs as <c>spec.serviceAccountName</c> (default <c>default</c>), which must
/// exist: <c>error looking up service account ns/sa: serviceaccount "sa" not found</c>. A namespace's <c>default</c>
/// ServiceAccount is kept by the ServiceAccounts controller on a real cluster (created with the namespace, re-created
/// when deleted); here it is also created on first use, so a pod created right after its namespace does not lose the
/// race a real cluster sometimes loses.
/// </summary>
internal sealed class ServiceAccountAdmission : IAdmissionPlugin
{
    public const string DefaultName = "default";

    public void Mutate(AdmissionRequest request)
    {
        if (request.Type != ResourceType.Pods)
        {
            return;
        }

        if (request.Object["spec"] is not JsonObject spec)
        {
            return;
        }

        var name = Json.GetString(spec, "serviceAccountName") is { Length: > 0 } set ? set : DefaultName;
        spec["serviceAccountName"] = name;
        if (request.Store.Get(ResourceType.ServiceAccounts, request.Namespace, name) is not null)
        {
            return;
        }

        if (name == DefaultName)
        {
            EnsureDefault(request.Store, request.Namespace);
            return;
        }

        throw request.Forbidden($"error looking up service account {request.Namespace}/{name}: serviceaccount \"{name}\" not found");
    }

    /// <summary>Creates the namespace's <c>default</c> ServiceAccount unless it exists.</summary>
    public static void EnsureDefault(ClusterStore store, string ns)
    {
        ArgumentNullException.ThrowIfNull(store);
        try
        {
            store.Create(ResourceType.ServiceAccounts, ns, new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "ServiceAccount",
                ["metadata"] = new JsonObject { ["name"] = DefaultName, ["namespace"] = ns },
            });
        }
        catch (StoreException e) when (e.Code is 409 or 404 or 403)
        {
            // exists already, or the namespace is gone or terminating
        }
    }
}
