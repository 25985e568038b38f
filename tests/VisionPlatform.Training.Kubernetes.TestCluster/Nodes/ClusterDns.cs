using System.Text;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Controllers;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>One name the cluster DNS would answer, with the namespace it lives in (short forms only resolve there).</summary>
/// <param name="Namespace">The Service's namespace.</param>
/// <param name="Ip">The address.</param>
/// <param name="Fqdn">The fully qualified name, e.g. <c>job-0.svc.ns.svc.cluster.local</c>.</param>
/// <param name="RelativeNames">The names a pod reaches through its search domains: <c>job-0.svc.ns.svc</c>, <c>job-0.svc.ns</c>.</param>
/// <param name="NamespaceRelativeName">The name pods of the same namespace use: <c>job-0.svc</c>.</param>
internal sealed record DnsRecord(string Namespace, string Ip, string Fqdn, IReadOnlyList<string> RelativeNames, string NamespaceRelativeName);

/// <summary>
/// The test cluster's stand-in for cluster DNS: what CoreDNS would answer for headless Services, written into each
/// isolated pod's hosts file (the pod's own <c>/etc/hosts</c> view). Records come from the same endpoints the
/// EndpointSlice controller publishes: every ready endpoint of a headless Service with a selector gives
/// <c>&lt;service&gt;.&lt;ns&gt;.svc.cluster.local</c>, and one with a hostname also
/// <c>&lt;hostname&gt;.&lt;service&gt;.&lt;ns&gt;.svc.cluster.local</c> (ready = Ready, or any pod with an IP when the
/// Service has <c>publishNotReadyAddresses</c>). ClusterIP Services have no routable virtual IP here, so they get no
/// records.
/// </summary>
internal static class ClusterDns
{
    public const string ClusterDomain = "cluster.local";

    /// <summary>Every record the cluster DNS would serve now.</summary>
    public static IReadOnlyList<DnsRecord> Records(IEnumerable<JsonObject> services, IReadOnlyList<JsonObject> pods)
    {
        var records = new List<DnsRecord>();
        foreach (var service in services.Where(s => ServiceEndpoints.IsHeadless(s) && !s.HasDeletionTimestamp()))
        {
            var ns = service.Namespace();
            var name = service.Name();
            foreach (var endpoint in ServiceEndpoints.For(service, pods).Where(e => e.Ready).OrderBy(e => e.Pod.Name(), StringComparer.Ordinal))
            {
                if (endpoint.Hostname is { } hostname)
                {
                    var relative = $"{hostname}.{name}";
                    records.Add(new DnsRecord(ns, endpoint.Ip, $"{relative}.{ns}.svc.{ClusterDomain}", [$"{relative}.{ns}.svc", $"{relative}.{ns}"], relative));
                }

                records.Add(new DnsRecord(ns, endpoint.Ip, $"{name}.{ns}.svc.{ClusterDomain}", [$"{name}.{ns}.svc", $"{name}.{ns}"], name));
            }
        }

        return records;
    }

    /// <summary>
    /// The pod's hostname as the kubelet sets it: <c>spec.hostname</c> or the pod name (at most 63 characters, a
    /// trailing '-' or '.' trimmed); the FQDN with <c>setHostnameAsFQDN</c> and a subdomain.
    /// </summary>
    public static string Hostname(JsonObject pod)
    {
        var spec = pod.ObjOrNull("spec");
        var hostname = spec.Str("hostname") is { Length: > 0 } h ? h : pod.Name();
        if (hostname.Length > 63)
        {
            hostname = hostname[..63].TrimEnd('-', '.');
        }

        return spec.Bool("setHostnameAsFQDN") == true && Fqdn(pod) is { } fqdn ? fqdn : hostname;
    }

    /// <summary><c>&lt;hostname&gt;.&lt;subdomain&gt;.&lt;ns&gt;.svc.cluster.local</c>, or null without a subdomain.</summary>
    public static string? Fqdn(JsonObject pod)
    {
        var spec = pod.ObjOrNull("spec");
        var hostname = spec.Str("hostname") is { Length: > 0 } h ? h : pod.Name();
        return spec.Str("subdomain") is { Length: > 0 } subdomain ? $"{hostname}.{subdomain}.{pod.Namespace()}.svc.{ClusterDomain}" : null;
    }

    /// <summary>
    /// The pod's hosts file: the kubelet's managed part (localhost lines, the pod's own address and names, hostAliases)
    /// and then the cluster DNS records this pod could resolve (FQDN forms for every namespace, the short
    /// <c>&lt;hostname&gt;.&lt;service&gt;</c> and <c>&lt;service&gt;</c> forms for its own namespace).
    /// </summary>
    public static string HostsFile(JsonObject pod, string podIp, IReadOnlyList<DnsRecord> records)
    {
        var text = new StringBuilder();
        text.Append("# Kubernetes-managed hosts file (the test cluster's kubelet).\n");
        text.Append("127.0.0.1\tlocalhost\n");
        text.Append("::1\tlocalhost ip6-localhost ip6-loopback\n");
        text.Append("fe00::0\tip6-localnet\n");
        text.Append("fe00::0\tip6-mcastprefix\n");
        text.Append("fe00::1\tip6-allnodes\n");
        text.Append("fe00::2\tip6-allrouters\n");
        var hostname = pod.ObjOrNull("spec").Str("hostname") is { Length: > 0 } h ? h : Hostname(pod);
        text.Append(Fqdn(pod) is { } fqdn ? $"{podIp}\t{fqdn}\t{hostname}\n" : $"{podIp}\t{hostname}\n");

        var aliases = pod.ObjOrNull("spec").ArrOrNull("hostAliases").Objects().ToList();
        if (aliases.Count > 0)
        {
            text.Append("\n# Entries added by HostAliases.\n");
            foreach (var alias in aliases)
            {
                text.Append(alias.Str("ip")).Append('\t').Append(string.Join('\t', alias.Strings("hostnames"))).Append('\n');
            }
        }

        if (records.Count > 0)
        {
            text.Append("\n# Cluster DNS records (headless Services), kept up to date by the test cluster.\n");
            var ns = pod.Namespace();
            foreach (var record in records)
            {
                text.Append(record.Ip).Append('\t').Append(record.Fqdn);
                foreach (var name in record.RelativeNames)
                {
                    text.Append(' ').Append(name);
                }

                if (record.Namespace == ns)
                {
                    text.Append(' ').Append(record.NamespaceRelativeName);
                }

                text.Append('\n');
            }
        }

        return text.ToString();
    }
}
