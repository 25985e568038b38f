using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>
/// Gives each <c>emptyDir</c> volume of a pod a directory of its own under the cluster's data directory and maps the
/// container's absolute mount paths onto it: an argument or env value that is a mount path, starts with
/// <c>&lt;mountPath&gt;/</c>, or is <c>--flag=&lt;such a path&gt;</c> is rewritten to the host directory. So
/// <c>--output_dir /workspace/output</c> with <c>workspace</c> mounted at <c>/workspace</c> becomes
/// <c>&lt;data&gt;/pods/&lt;uid&gt;/volumes/workspace/output</c>.
/// </summary>
internal sealed class VolumePaths
{
    private readonly List<(string MountPath, string HostPath)> _mounts;

    private VolumePaths(List<(string MountPath, string HostPath)> mounts, string sandbox)
    {
        _mounts = mounts;
        Sandbox = sandbox;
    }

    /// <summary>The pod's own directory, used as working directory when the container's does not map to a volume.</summary>
    public string Sandbox { get; }

    public IReadOnlyList<(string MountPath, string HostPath)> Mounts => _mounts;

    public static string PodDirectory(string dataDirectory, string podUid) => Path.Combine(dataDirectory, "pods", podUid);

    /// <summary>Creates the per-pod directories for one container's emptyDir mounts.</summary>
    public static VolumePaths For(string dataDirectory, JsonObject pod, JsonObject container)
    {
        var podDirectory = PodDirectory(dataDirectory, pod.Uid());
        var sandbox = Path.Combine(podDirectory, "sandbox");
        Directory.CreateDirectory(sandbox);
        var emptyDirs = pod.ObjOrNull("spec").ArrOrNull("volumes").Objects()
            .Where(v => v["emptyDir"] is not null)
            .Select(v => v.Str("name") ?? string.Empty)
            .ToHashSet(StringComparer.Ordinal);
        var mounts = new List<(string, string)>();
        foreach (var mount in container.ArrOrNull("volumeMounts").Objects())
        {
            var name = mount.Str("name") ?? string.Empty;
            var mountPath = (mount.Str("mountPath") ?? string.Empty).TrimEnd('/');
            if (!emptyDirs.Contains(name) || mountPath.Length == 0)
            {
                continue;
            }

            var host = Path.Combine(podDirectory, "volumes", name);
            if (mount.Str("subPath") is { Length: > 0 } subPath)
            {
                host = Path.Combine(host, subPath);
            }

            Directory.CreateDirectory(host);
            mounts.Add((mountPath, host));
        }

        // longest mount path first, so /workspace/cache wins over /workspace
        mounts.Sort((a, b) => b.Item1.Length.CompareTo(a.Item1.Length));
        return new VolumePaths(mounts, sandbox);
    }

    /// <summary>Maps a container path (or <c>--flag=path</c>) onto the host; anything else is returned unchanged.</summary>
    public string Map(string value)
    {
        if (MapPath(value) is { } mapped)
        {
            return mapped;
        }

        var equals = value.IndexOf('=', StringComparison.Ordinal);
        if (equals > 0 && MapPath(value[(equals + 1)..]) is { } mappedValue)
        {
            return value[..(equals + 1)] + mappedValue;
        }

        return value;
    }

    /// <summary>The working directory: the container's <c>workingDir</c> when it maps onto a volume, else the sandbox.</summary>
    public string WorkingDirectory(string? containerWorkingDir) =>
        containerWorkingDir is { Length: > 0 } dir && MapPath(dir) is { } mapped ? mapped : Sandbox;

    private string? MapPath(string path)
    {
        foreach (var (mountPath, hostPath) in _mounts)
        {
            if (path == mountPath)
            {
                return hostPath;
            }

            if (path.StartsWith(mountPath + "/", StringComparison.Ordinal))
            {
                return hostPath + path[mountPath.Length..];
            }
        }

        return null;
    }
}
