using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>Writes to one stored object of a given uid (a replaced or deleted one is left alone), reporting whether it changed.</summary>
internal static class ObjectWriter
{
    /// <summary>Applies <paramref name="mutate"/> to the current object; true when the stored object changed.</summary>
    public static bool Update(ClusterStore store, ResourceType type, JsonObject obj, Action<JsonObject> mutate)
    {
        var uid = obj.Uid();
        var changed = false;
        try
        {
            store.Update(type, type.Namespaced ? obj.Namespace() : null, obj.Name(), current =>
            {
                if (current.Uid() != uid)
                {
                    return current;
                }

                var before = current.DeepClone();
                mutate(current);
                changed = !JsonNode.DeepEquals(before, current);
                return current;
            });
        }
        catch (StoreException ex) when (ex.Code == 404)
        {
            // deleted meanwhile: nothing to write
        }

        return changed;
    }
}
