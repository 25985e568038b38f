using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Admission;

/// <summary>One create going through the admission chain (admission.Attributes): the object, where it goes, and what the
/// plugins may read (the store, the clock) or add (warnings).</summary>
internal sealed class AdmissionRequest(ResourceType type, string ns, JsonObject obj, ClusterStore store, TimeProvider time)
{
    public ResourceType Type { get; } = type;

    public string Namespace { get; } = ns;

    /// <summary>The decoded object; mutating plugins change it in place.</summary>
    public JsonObject Object { get; } = obj;

    public ClusterStore Store { get; } = store;

    public TimeProvider Time { get; } = time;

    /// <summary>Warning headers for the response (<c>299 - "..."</c>).</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>
    /// The name errors print: the object's name, or its <c>generateName</c> prefix, because admission runs before the
    /// registry generates the name (so a Job controller's refused pod is <c>pods "train-"</c>).
    /// </summary>
    public string DisplayName =>
        Json.GetString(Object, "metadata", "name") is { Length: > 0 } name ? name : Json.GetString(Object, "metadata", "generateName") ?? "";

    /// <summary>admission.NewForbidden: 403 <c>pods "x" is forbidden: &lt;message&gt;</c>.</summary>
    public StoreException Forbidden(string message) => StoreException.Forbidden(Type, DisplayName, message);

    /// <summary>Adds a warning as the apiserver writes it: code 299, agent <c>-</c>, the text quoted with <c>"</c> escaped.</summary>
    public void Warn(string text) =>
        Warnings.Add("299 - \"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"");
}
