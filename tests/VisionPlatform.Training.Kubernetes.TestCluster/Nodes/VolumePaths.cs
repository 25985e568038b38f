using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>
/// Gives each <c>emptyDir</c> volume of a pod a directory of its own under the cluster's data directory and maps the
/// container's absolute mount paths onto it: an argument or env value that is a mount path, starts with
/// <c>&lt;mountPath&gt;/</c>, or is <c>--flag=&lt;such a path&gt;</c> is rewritten to the host directory. So
/// <c>--output_dir /workspace/output</c> with <c>workspace</c> mounted at <c>/workspace</c> becomes
/// <c>&lt;data&gt;/pods/&lt;uid&gt;/volumes/workspace/output</c>; so is <c>@&lt;such a path&gt;</c> (a file argument, as in
/// <c>--config @/etc/visionplatform/config/config.json</c>).
/// A <c>configMap</c> volume is projected the kubelet's way: each key (or each <c>items</c> entry, key to path) becomes a
/// file in the volume's directory, mode <c>defaultMode</c> (0644) or the item's <c>mode</c> without write bits (the
/// kubelet mounts configMap volumes read-only); a missing ConfigMap or key that is not <c>optional</c> fails the mount
/// (<see cref="VolumeMountException"/>, the pod stays ContainerCreating and the mount is retried).
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
    public static VolumePaths For(string dataDirectory, JsonObject pod, JsonObject container, Func<string, JsonObject?>? configMaps = null)
    {
        var podDirectory = PodDirectory(dataDirectory, pod.Uid());
        var sandbox = Path.Combine(podDirectory, "sandbox");
        Directory.CreateDirectory(sandbox);
        var emptyDirs = pod.ObjOrNull("spec").ArrOrNull("volumes").Objects()
            .Where(v => v["emptyDir"] is not null)
            .Select(v => v.Str("name") ?? string.Empty)
            .ToHashSet(StringComparer.Ordinal);
        var configMapVolumes = pod.ObjOrNull("spec").ArrOrNull("volumes").Objects()
            .Where(v => v.ObjOrNull("configMap") is not null)
            .ToDictionary(v => v.Str("name") ?? string.Empty, v => v.Obj("configMap"), StringComparer.Ordinal);
        var mounts = new List<(string, string)>();
        foreach (var mount in container.ArrOrNull("volumeMounts").Objects())
        {
            var name = mount.Str("name") ?? string.Empty;
            var mountPath = (mount.Str("mountPath") ?? string.Empty).TrimEnd('/');
            if (configMapVolumes.TryGetValue(name, out var source) && mountPath.Length > 0 && configMaps is not null)
            {
                var projected = Path.Combine(podDirectory, "volumes", name);
                ProjectConfigMap(name, source, configMaps, projected);
                mounts.Add((mountPath, mount.Str("subPath") is { Length: > 0 } sub ? Path.Combine(projected, sub) : projected));
                continue;
            }

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

    private static void ProjectConfigMap(string volume, JsonObject source, Func<string, JsonObject?> configMaps, string directory)
    {
        var name = source.Str("name") ?? string.Empty;
        var optional = source.Bool("optional") == true;
        Directory.CreateDirectory(directory);
        if (configMaps(name) is not { } configMap)
        {
            if (optional)
            {
                return;
            }

            throw new VolumeMountException($"MountVolume.SetUp failed for volume \"{volume}\" : configmap \"{name}\" not found");
        }

        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (key, value) in configMap.ObjOrNull("data") ?? new JsonObject())
        {
            data[key] = System.Text.Encoding.UTF8.GetBytes(value?.GetValue<string>() ?? string.Empty);
        }

        foreach (var (key, value) in configMap.ObjOrNull("binaryData") ?? new JsonObject())
        {
            data[key] = Convert.FromBase64String(value?.GetValue<string>() ?? string.Empty);
        }

        var defaultMode = source["defaultMode"]?.GetValue<int>() ?? 420;
        var items = source.ArrOrNull("items").Objects().ToList();
        var files = items.Count == 0
            ? data.Keys.Select(k => (Key: k, Path: k, Mode: defaultMode)).ToList()
            : items.Select(i => (Key: i.Str("key") ?? string.Empty, Path: i.Str("path") ?? string.Empty, Mode: i["mode"]?.GetValue<int>() ?? defaultMode)).ToList();
        foreach (var (key, path, mode) in files)
        {
            if (!data.TryGetValue(key, out var bytes))
            {
                if (optional)
                {
                    continue;
                }

                throw new VolumeMountException($"MountVolume.SetUp failed for volume \"{volume}\" : configmap references non-existent config key: {key}");
            }

            var file = Path.Combine(directory, path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            if (!OperatingSystem.IsWindows() && File.Exists(file))
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            File.WriteAllBytes(file, bytes);
            // The kubelet mounts configMap volumes read-only whatever the mount says: no write bits here.
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(file, (UnixFileMode)(mode & ~0x92));
            }
        }
    }

    /// <summary>Maps a container path (or <c>--flag=path</c>) onto the host; anything else is returned unchanged.</summary>
    public string Map(string value)
    {
        if (MapPath(value) is { } mapped)
        {
            return mapped;
        }

        if (value.StartsWith('@') && MapPath(value[1..]) is { } mappedFile)
        {
            return "@" + mappedFile;
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

/// <summary>A volume the kubelet cannot set up (a missing ConfigMap or key); the pod stays ContainerCreating and it retries.</summary>
internal sealed class VolumeMountException(string message) : Exception(message)
{
    public VolumeMountException()
        : this("volume mount failed")
    {
    }

    public VolumeMountException(string message, Exception inner)
        : this(message)
    {
        _ = inner;
    }
}
