using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Admission;

/// <summary>
/// The admission plugins the apiserver runs on every create of a pod or a Job (and, for object-count quotas, of a
/// ConfigMap, Secret or Service), in the apiserver's order: LimitRanger, ServiceAccount, PodSecurity, ResourceQuota. API requests and the controllers' own creates both go through it
/// (upstream controllers create through the API server). Admission and the write that follows run under one lock so
/// that two creates cannot both fit into the last unit of a quota.
/// </summary>
internal sealed class AdmissionChain
{
    /// <summary>The types admission applies to: pods and Jobs, and the object counts quotas limit.</summary>
    private static readonly HashSet<ResourceType> Admitted =
        [ResourceType.Pods, ResourceType.Jobs, ResourceType.ConfigMaps, ResourceType.Secrets, ResourceType.Services];

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ClusterStore _store;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<IAdmissionPlugin> _plugins;

    public AdmissionChain(ClusterStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
        // Kueue's mutating webhook runs where the apiserver runs webhooks: after the built-in mutating plugins
        _plugins = [new LimitRangerAdmission(), new ServiceAccountAdmission(), new Kueue.KueueJobWebhook(), new PodSecurityAdmission(), new ResourceQuotaAdmission()];
    }

    /// <summary>
    /// Runs the chain on an object about to be created (after decode and defaults). Returns a scope that holds the
    /// admission lock until it is disposed: create the object before disposing it. Types without admission, and
    /// namespaces that do not exist or are terminating (the store answers those), get an empty scope.
    /// </summary>
    /// <exception cref="StoreException">403 Forbidden from a plugin.</exception>
    public AdmissionScope Admit(ResourceType type, string? ns, JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(obj);
        ns ??= Json.GetString(obj, "metadata", "namespace");
        if (!Admitted.Contains(type) || ns is null
            || _store.Get(ResourceType.Namespaces, null, ns) is not { } namespaceObject
            || Json.GetString(namespaceObject, "metadata", "deletionTimestamp") is not null)
        {
            return new AdmissionScope(null, []);
        }

        _gate.Wait();
        try
        {
            var request = new AdmissionRequest(type, ns, obj, _store, _time);
            foreach (var plugin in _plugins)
            {
                plugin.Mutate(request);
            }

            foreach (var plugin in _plugins)
            {
                plugin.Validate(request);
            }

            return new AdmissionScope(_gate, request.Warnings);
        }
        catch
        {
            _gate.Release();
            throw;
        }
    }

    /// <summary>Creates a pod as a controller does through the API server: admission, then the write.</summary>
    /// <exception cref="StoreException">403 from admission, or the store's own errors.</exception>
    public JsonObject CreatePod(string ns, JsonObject pod)
    {
        using var scope = Admit(ResourceType.Pods, ns, pod);
        return _store.Create(ResourceType.Pods, ns, pod);
    }
}

/// <summary>What admission decided for one create: its warnings, and the admission lock until disposed.</summary>
internal sealed class AdmissionScope(SemaphoreSlim? gate, IReadOnlyList<string> warnings) : IDisposable
{
    private SemaphoreSlim? _gate = gate;

    /// <summary><c>Warning</c> header values for the response.</summary>
    public IReadOnlyList<string> Warnings { get; } = warnings;

    /// <summary>Releases the admission lock (once).</summary>
    public void Dispose() => Interlocked.Exchange(ref _gate, null)?.Release();
}
