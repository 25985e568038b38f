using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>The Warning headers the apiserver adds on create.</summary>
internal static class Warnings
{
    /// <summary>strategy.go WarningsOnCreate: a Job name that is not a DNS-1123 label.</summary>
    public static string? JobNameWarning(JsonObject job)
    {
        var name = Json.GetString(job, "metadata", "name") ?? "";
        return NameRules.Dns1123Label(name).Count == 0
            ? null
            : "299 - \"metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]\"";
    }
}
