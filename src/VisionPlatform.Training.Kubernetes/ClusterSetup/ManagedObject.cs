using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>How the set-up reads, creates, replaces and compares one kind of object.</summary>
/// <typeparam name="T">The object type.</typeparam>
internal sealed class ObjectApi<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    public required string Kind { get; init; }

    /// <summary>The resource as RBAC names it, for messages (<c>roles.rbac.authorization.k8s.io</c>).</summary>
    public required string Resource { get; init; }

    public required Func<IKubernetes, string, string, CancellationToken, Task<T>> Read { get; init; }

    public required Func<IKubernetes, T, string, CancellationToken, Task<T>> Create { get; init; }

    public required Func<IKubernetes, T, string, string, CancellationToken, Task<T>> Replace { get; init; }

    /// <summary>Deletes before a re-create, for objects with immutable fields (a RoleBinding's roleRef); null if never needed.</summary>
    public Func<IKubernetes, string, string, CancellationToken, Task>? Delete { get; init; }

    /// <summary>The fields of <c>existing</c> that differ from <c>desired</c> (names only, never values).</summary>
    public required Func<T, T, IReadOnlyList<string>> Compare { get; init; }

    /// <summary>Fields among the differences that the API will not change in place, so a replace must delete and create.</summary>
    public IReadOnlySet<string> Immutable { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Holds credentials: errors never carry the request (its body holds the values).</summary>
    public bool Sensitive { get; init; }

    /// <summary>Update a managed object that differs without being asked to (the Secret: "created or updated from options").</summary>
    public bool UpdateWhenManaged { get; init; }

    /// <summary>Whether an existing object must carry the SDK's managed-by label (not for the namespace, which is shared).</summary>
    public bool RequireManagedLabel { get; init; } = true;

    /// <summary>
    /// Whether a skipped object is still looked for (default true: the report says whether pods will find it). False for
    /// an optional object whose absence is what a disabled option asks for (the NetworkPolicy).
    /// </summary>
    public bool LookForWhenSkipped { get; init; } = true;

    /// <summary>For a kind from a CRD: what to do when the API server does not serve it (a 404 on create).</summary>
    public string? MissingApiHint { get; init; }
}

/// <summary>
/// One object of the set-up: the wanted state (or none, when only its existence is checked) and the create-or-verify
/// and check-only logic shared by every kind.
/// </summary>
internal interface IManagedObject
{
    string Kind { get; }

    string Name { get; }

    Task<ClusterResourceResult> EnsureAsync(SetupContext context, CancellationToken cancellationToken);

    Task<ClusterResourceResult> CheckAsync(SetupContext context, CancellationToken cancellationToken);
}

/// <summary>The client and settings one set-up call works with.</summary>
internal sealed record SetupContext(IKubernetes Client, string Source, bool Overwrite);

/// <inheritdoc />
internal sealed class ManagedObject<T>(ObjectApi<T> api, string name, string? @namespace, T? desired, string? skipped, string? note) : IManagedObject
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    public string Kind => api.Kind;

    public string Name => name;

    // Reads and writes address the namespace itself by name; namespaced objects by namespace and name.
    private string Scope => @namespace ?? name;

    public async Task<ClusterResourceResult> EnsureAsync(SetupContext context, CancellationToken cancellationToken)
    {
        if (desired is null)
        {
            return await ExistenceAsync(context, cancellationToken).ConfigureAwait(false);
        }

        var existing = await ReadAsync(context, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            var created = await TryCreateAsync(context, cancellationToken).ConfigureAwait(false);
            if (created)
            {
                return Result(ClusterResourceState.Created, [], note);
            }

            // Created by someone else between our read and create: compare with theirs.
            existing = await ReadAsync(context, cancellationToken).ConfigureAwait(false)
                ?? throw new TrainingException(TrainingErrorCode.ExecutorFailure, $"{api.Kind} '{name}' in namespace '{@namespace}' was reported as existing but cannot be read.");
        }

        var differences = api.Compare(desired, existing);
        var managed = IsManaged(existing);
        if (managed && differences.Count == 0)
        {
            return Result(ClusterResourceState.Unchanged, [], note);
        }

        if (context.Overwrite || (managed && api.UpdateWhenManaged))
        {
            await ReplaceAsync(context, existing, differences, cancellationToken).ConfigureAwait(false);
            var why = managed ? note : Join("replaced an object the SDK had not created (OverwriteConflicts)", note);
            return Result(ClusterResourceState.Updated, differences, why);
        }

        return Result(ClusterResourceState.Conflict, differences, Join(ConflictReason(managed), note));
    }

    public async Task<ClusterResourceResult> CheckAsync(SetupContext context, CancellationToken cancellationToken)
    {
        if (desired is null)
        {
            return await ExistenceAsync(context, cancellationToken).ConfigureAwait(false);
        }

        var existing = await ReadAsync(context, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            return Result(ClusterResourceState.Missing, [], note);
        }

        var differences = api.Compare(desired, existing);
        if (!IsManaged(existing))
        {
            return Result(ClusterResourceState.Conflict, differences, Join(ConflictReason(managed: false), note));
        }

        return differences.Count == 0
            ? Result(ClusterResourceState.Unchanged, [], note)
            : Result(ClusterResourceState.Different, differences, note);
    }

    private static string ConflictReason(bool managed) => managed
        ? "exists with different content; left alone (set OverwriteConflicts to replace it)"
        : $"exists but was not created by the SDK (no {KubernetesLabels.ManagedBy}={KubernetesLabels.ManagedByValue} label); left alone (set OverwriteConflicts to replace it)";

    private static string? Join(string? first, string? second) =>
        first is null ? second : second is null ? first : $"{first}; {second}";

    // Objects the options do not let the set-up write are only looked for, so the report still says whether pods will find them.
    private async Task<ClusterResourceResult> ExistenceAsync(SetupContext context, CancellationToken cancellationToken)
    {
        if (skipped is null)
        {
            throw new InvalidOperationException($"{api.Kind} '{name}' has neither a wanted state nor a reason to skip it.");
        }

        if (!api.LookForWhenSkipped)
        {
            return Result(ClusterResourceState.Skipped, [], skipped);
        }

        var existing = await ReadAsync(context, cancellationToken).ConfigureAwait(false);
        var found = existing is null
            ? $"{api.Kind} '{name}' does not exist, so pods or bindings that need it will not work"
            : $"{api.Kind} '{name}' exists and is left as it is";
        return Result(ClusterResourceState.Skipped, [], $"{skipped} {found}.");
    }

    private bool IsManaged(T existing) =>
        !api.RequireManagedLabel ||
        (existing.Metadata?.Labels?.TryGetValue(KubernetesLabels.ManagedBy, out var value) == true && value == KubernetesLabels.ManagedByValue);

    private ClusterResourceResult Result(ClusterResourceState state, IReadOnlyList<string> differences, string? message) =>
        new(api.Kind, @namespace, name, state, differences, message);

    private async Task<T?> ReadAsync(SetupContext context, CancellationToken cancellationToken)
    {
        try
        {
            return await api.Read(context.Client, name, Scope, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
        {
            return null;
        }
        catch (Exception ex) when (IsApiFailure(ex, cancellationToken))
        {
            throw Translate(ex, context, "get");
        }
    }

    private async Task<bool> TryCreateAsync(SetupContext context, CancellationToken cancellationToken)
    {
        try
        {
            await api.Create(context.Client, Fresh(desired!), Scope, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.Conflict))
        {
            return false;
        }
        catch (Exception ex) when (IsApiFailure(ex, cancellationToken))
        {
            throw Translate(ex, context, "create");
        }
    }

    private async Task ReplaceAsync(SetupContext context, T existing, IReadOnlyList<string> differences, CancellationToken cancellationToken)
    {
        var replacement = Fresh(desired!);

        // Keep what others added (labels, annotations); the SDK's labels win.
        var labels = new SortedDictionary<string, string>(existing.Metadata?.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        foreach (var (key, value) in replacement.Metadata.Labels ?? new Dictionary<string, string>())
        {
            labels[key] = value;
        }

        replacement.Metadata.Labels = labels;
        replacement.Metadata.Annotations = existing.Metadata?.Annotations;
        var verb = "update";
        try
        {
            if (api.Delete is not null && differences.Any(api.Immutable.Contains))
            {
                verb = "delete";
                await api.Delete(context.Client, name, Scope, cancellationToken).ConfigureAwait(false);
                verb = "create";
                await api.Create(context.Client, replacement, Scope, cancellationToken).ConfigureAwait(false);
                return;
            }

            replacement.Metadata.ResourceVersion = existing.Metadata?.ResourceVersion;
            await api.Replace(context.Client, replacement, name, Scope, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsApiFailure(ex, cancellationToken))
        {
            throw Translate(ex, context, verb);
        }
    }

    // The wanted object is shared by calls: each write sends its own copy.
    private static T Fresh(T value) => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(value));

    private static bool IsApiFailure(Exception ex, CancellationToken cancellationToken) =>
        ex is HttpOperationException or HttpRequestException ||
        (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested);

    private TrainingException Translate(Exception ex, SetupContext context, string verb)
    {
        var ns = @namespace ?? name;
        if (ex is not HttpOperationException http)
        {
            var unreachable = KubernetesErrors.Unreachable(ex, context.Source, verb, $"{api.Resource} '{name}'", jobId: null);
            return api.Sensitive ? Detached(unreachable) : unreachable;
        }

        TrainingException translated;
        if (KubernetesErrors.Is(http, HttpStatusCode.Forbidden))
        {
            var apiMessage = KubernetesErrors.ReadStatus(http)?.Message ?? http.Response?.ReasonPhrase ?? http.Message;
            translated = new TrainingException(TrainingErrorCode.Forbidden,
                $"Kubernetes RBAC forbids the cluster set-up to {verb} {api.Resource} '{name}'{(@namespace is null ? "" : $" in namespace '{@namespace}'")} (403 Forbidden): {apiMessage}. " +
                "The set-up creates a namespace, a Secret and RBAC objects, so run it with an administrator's identity (for example from a deployment pipeline), " +
                "not as the backend's least-privilege account, or apply the manifest from 'QuickStart --print-cluster-setup' with kubectl (see docs/kubernetes.md, Cluster set-up).",
                http)
            {
                ExecutorName = KubernetesExecutorInfo.ExecutorName,
            };
        }
        else if (api.MissingApiHint is { } hint && verb == "create" && KubernetesErrors.Is(http, HttpStatusCode.NotFound))
        {
            // A 404 on create: the API server does not serve the kind (a CRD that is not installed), not a missing object.
            translated = new TrainingException(TrainingErrorCode.Rejected,
                $"The cluster set-up cannot create {api.Kind} '{name}' in namespace '{ns}': the API server does not serve {api.Resource} (404). {hint}", http)
            {
                ExecutorName = KubernetesExecutorInfo.ExecutorName,
            };
        }
        else
        {
            translated = KubernetesErrors.Translate(http, verb, $"{api.Resource} '{name}'", ns, jobId: null);
        }

        return api.Sensitive ? Detached(translated) : translated;
    }

    // The inner HttpOperationException keeps the request, whose body holds the Secret's values: drop it, keep the message.
    private static TrainingException Detached(TrainingException ex) =>
        new(ex.Code, ex.Message) { ExecutorName = ex.ExecutorName };
}
