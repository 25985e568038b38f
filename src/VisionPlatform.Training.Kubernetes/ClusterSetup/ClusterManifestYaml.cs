using System.Text;
using k8s;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Renders a <see cref="ClusterManifest"/> as multi-document YAML. The Secret is never rendered: its values must not
/// reach a file, and placeholders would blank real credentials on <c>kubectl apply</c>. Objects the options leave
/// unmanaged become comments with the kubectl command that creates them.
/// </summary>
internal static class ClusterManifestYaml
{
    public static string Render(ClusterManifest m)
    {
        var ns = m.Namespace;
        var text = new StringBuilder();
        text.Append("# VisionPlatform.Training cluster set-up for namespace '").Append(ns).Append("'.\n")
            .Append("# Apply with: kubectl apply -f <this file>   (the same objects KubernetesClusterSetup.EnsureClusterResourcesAsync creates)\n")
            .Append("#\n")
            .Append("# Secret '").Append(m.SecretName).Append("' is not part of this manifest (its values never are). Create it with:\n")
            .Append("#   kubectl -n ").Append(ns).Append(" create secret generic ").Append(m.SecretName);
        var secretKeys = (m.Secret?.Data?.Keys ?? []).Union(m.SecretKeysReferenced, StringComparer.Ordinal).Order(StringComparer.Ordinal);
        foreach (var key in secretKeys)
        {
            text.Append(" --from-literal=").Append(key).Append("=...");
        }

        text.Append('\n');
        if (m.ConfigMap is null)
        {
            text.Append("#\n# ConfigMap '").Append(m.ConfigMapName).Append("' is not rendered: ").Append(m.ConfigMapSkipped).Append('\n')
                .Append("#   kubectl -n ").Append(ns).Append(" create configmap ").Append(m.ConfigMapName);
            foreach (var key in m.ConfigMapKeysReferenced)
            {
                text.Append(" --from-literal=").Append(key).Append("=...");
            }

            text.Append('\n');
        }

        if (m.RoleBinding is null)
        {
            text.Append("#\n# RoleBinding '").Append(m.Role.Metadata.Name).Append("' is not rendered: ").Append(m.RoleBindingSkipped).Append('\n')
                .Append("#   kubectl -n ").Append(ns).Append(" create rolebinding ").Append(m.Role.Metadata.Name)
                .Append(" --role=").Append(m.Role.Metadata.Name).Append(" --serviceaccount=<namespace>:<backend-service-account>\n");
        }

        if (m.NetworkPolicy is null)
        {
            text.Append("#\n# NetworkPolicy '").Append(m.NetworkPolicyName).Append("' is not rendered: ").Append(m.NetworkPolicySkipped).Append('\n');
        }

        if (m.LocalQueueName is not null && m.LocalQueue is null)
        {
            text.Append("#\n# LocalQueue '").Append(m.LocalQueueName).Append("' is not rendered: ").Append(m.LocalQueueSkipped).Append('\n');
        }

        var documents = new List<object?> { m.NamespaceObject, m.ServiceAccount, m.ConfigMap, m.Role, m.RoleBinding, m.NetworkPolicy, m.LocalQueue };
        foreach (var document in documents.OfType<object>())
        {
            text.Append("---\n").Append(KubernetesYaml.Serialize(document).ReplaceLineEndings("\n"));
            if (text[^1] != '\n')
            {
                text.Append('\n');
            }
        }

        return text.ToString();
    }
}
