using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Store;

/// <summary>
/// The cluster's storage, playing the part of etcd plus the generic registry: objects held as JSON, one global
/// resourceVersion counter shared by every write, a bounded history per resource type for watches, and the
/// registry's create, update and delete semantics (generateName, finalizers, graceful pod deletion, propagation).
/// Thread-safe. Every object handed out is a deep clone; callers may change it freely.
/// </summary>
public sealed class ClusterStore
{
    /// <summary>Finalizer that keeps an owner until its dependents are orphaned.</summary>
    public const string OrphanFinalizer = "orphan";

    /// <summary>Finalizer that keeps an owner until its blocking dependents are deleted.</summary>
    public const string ForegroundFinalizer = "foregroundDeletion";

    private const string NameAlphabet = "bcdfghjklmnpqrstvwxz2456789";
    private const int MaxGeneratedNameLength = 58;
    private const int GenerateNameAttempts = 8;

    private readonly Lock _gate = new();
    private readonly Dictionary<ResourceType, SortedDictionary<string, JsonObject>> _objects = [];
    private readonly Dictionary<ResourceType, History> _history = [];
    private readonly List<Subscription> _subscriptions = [];
    private readonly TimeProvider _time;
    private long _resourceVersion;
    private int _historySize;

    /// <summary>Creates an empty store.</summary>
    /// <param name="time">Clock for timestamps; the system clock when null.</param>
    /// <param name="historySize">How many events per resource type a watch can replay.</param>
    public ClusterStore(TimeProvider? time = null, int historySize = 10_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(historySize, 1);
        _time = time ?? TimeProvider.System;
        _historySize = historySize;
        foreach (var type in ResourceType.All)
        {
            _objects[type] = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
            _history[type] = new History();
        }
    }

    /// <summary>The current (latest) resourceVersion.</summary>
    public long ResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _resourceVersion;
            }
        }
    }

    /// <summary>How many events per resource type a watch can replay; older resourceVersions get 410 Expired.</summary>
    public int HistorySize
    {
        get
        {
            lock (_gate)
            {
                return _historySize;
            }
        }

        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            lock (_gate)
            {
                _historySize = value;
                foreach (var history in _history.Values)
                {
                    history.Trim(value);
                }
            }
        }
    }

    /// <summary>
    /// Forgets all watch history, as a compaction would: a watch or continue token from any resourceVersion older
    /// than the current one is answered with 410 Expired.
    /// </summary>
    public void ExpireHistory()
    {
        lock (_gate)
        {
            foreach (var history in _history.Values)
            {
                history.Events.Clear();
                history.StartResourceVersion = _resourceVersion;
            }
        }
    }

    /// <summary>The oldest resourceVersion a watch of <paramref name="type"/> may start from.</summary>
    public long OldestWatchableResourceVersion(ResourceType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        lock (_gate)
        {
            return HistoryOf(type).StartResourceVersion;
        }
    }

    /// <summary>
    /// Creates an object: generates the name from <c>generateName</c> when needed, assigns uid, resourceVersion,
    /// creationTimestamp and (for Jobs and Pods) generation 1, and clears deletion fields.
    /// </summary>
    /// <exception cref="StoreException">404 when the namespace does not exist, 403 when it is terminating,
    /// 409 AlreadyExists, 422 when there is no name.</exception>
    public JsonObject Create(ResourceType type, string? ns, JsonObject obj) => Create(type, ns, obj, null);

    /// <summary>
    /// Creates an object like <see cref="Create(ResourceType, string?, JsonObject)"/>, running
    /// <paramref name="prepare"/> (the registry's PrepareForCreate and Validate) on it once its name, uid and
    /// creationTimestamp are set and before it is stored. <paramref name="prepare"/> may change the object or throw
    /// a <see cref="StoreException"/>; it runs under the store lock and must not call the store.
    /// </summary>
    public JsonObject Create(ResourceType type, string? ns, JsonObject obj, Action<JsonObject>? prepare)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(obj);
        var candidate = obj.DeepClone().AsObject();
        var meta = Json.Metadata(candidate);
        ns = ResolveNamespace(type, ns, meta);

        lock (_gate)
        {
            if (type.Namespaced)
            {
                var owner = Find(ResourceType.Namespaces, null, ns!)
                    ?? throw StoreException.NotFound(ResourceType.Namespaces, ns!);
                if (Json.GetString(owner, "metadata", "deletionTimestamp") is not null)
                {
                    throw new StoreException(403, "Forbidden",
                        $"{type.QualifiedResource} \"{Json.GetString(meta, "name") ?? Json.GetString(meta, "generateName")}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated")
                    {
                        DetailsName = Json.GetString(meta, "name"),
                        DetailsGroup = type.Group,
                        DetailsKind = type.Plural,
                    };
                }
            }

            var name = Json.GetString(meta, "name");
            if (string.IsNullOrEmpty(name))
            {
                var prefix = Json.GetString(meta, "generateName");
                if (string.IsNullOrEmpty(prefix))
                {
                    throw StoreException.Invalid(type, "",
                        [new StatusCause("FieldValueRequired", "Required value: name or generateName is required", "metadata.name")]);
                }

                name = GenerateName(type, ns, prefix);
            }

            var stored = Normalize(type, candidate);
            meta = Json.Metadata(stored);
            meta["name"] = name;
            if (ns is not null)
            {
                meta["namespace"] = ns;
            }

            meta["uid"] = Guid.NewGuid().ToString();
            meta["creationTimestamp"] = Json.FormatTime(_time.GetUtcNow());
            meta.Remove("resourceVersion");
            meta.Remove("deletionTimestamp");
            meta.Remove("deletionGracePeriodSeconds");
            if (type.TracksGeneration)
            {
                meta["generation"] = 1;
            }
            else
            {
                meta.Remove("generation");
            }

            if (prepare is not null)
            {
                prepare(stored);
                stored = Normalize(type, stored);
                meta = Json.Metadata(stored);
            }

            if (Find(type, ns, name) is not null)
            {
                throw StoreException.AlreadyExists(type, name);
            }

            meta["resourceVersion"] = Next();

            Objects(type)[Key(ns, name)] = stored;
            Publish(type, StoreEventType.Added, stored, null);
            return stored.DeepClone().AsObject();
        }
    }

    /// <summary>Reads one object, or null when it does not exist.</summary>
    public JsonObject? Get(ResourceType type, string? ns, string name)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(name);
        lock (_gate)
        {
            return Find(type, type.Namespaced ? ns : null, name)?.DeepClone().AsObject();
        }
    }

    /// <summary>
    /// Lists objects of a type, in one namespace or (when <paramref name="ns"/> is null) in all, ordered by
    /// namespace and name as etcd keys are, with the resourceVersion at which the list was taken.
    /// </summary>
    public (IReadOnlyList<JsonObject> Items, long ResourceVersion) List(ResourceType type, string? ns, Func<JsonObject, bool>? predicate = null)
    {
        ArgumentNullException.ThrowIfNull(type);
        lock (_gate)
        {
            var items = Objects(type).Values
                .Where(o => InNamespace(type, ns, o) && (predicate is null || predicate(o)))
                .Select(o => o.DeepClone().AsObject())
                .ToList();
            return (items, _resourceVersion);
        }
    }

    /// <summary>
    /// Atomically reads, changes and writes one object. <paramref name="mutate"/> receives a copy and returns the
    /// new state; it runs under the store lock and must not call the store. Identity fields (name, namespace, uid,
    /// creationTimestamp, deletionTimestamp) are kept. No event and no new resourceVersion when nothing changed.
    /// A terminating object left with no finalizers is removed (DELETED).
    /// </summary>
    /// <exception cref="StoreException">404 when missing, 409 Conflict when <paramref name="expectedResourceVersion"/>
    /// does not match.</exception>
    public JsonObject Update(ResourceType type, string? ns, string name, Func<JsonObject, JsonObject> mutate, long? expectedResourceVersion = null)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(mutate);
        ns = type.Namespaced ? ns : null;
        lock (_gate)
        {
            var current = Find(type, ns, name) ?? throw StoreException.NotFound(type, name);
            var currentRv = ResourceVersionOf(current);
            if (expectedResourceVersion is { } expected && expected != currentRv)
            {
                throw StoreException.Conflict(type, name);
            }

            var candidate = Normalize(type, mutate(current.DeepClone().AsObject()) ?? throw new InvalidOperationException("mutate returned null"));
            var meta = Json.Metadata(candidate);
            var currentMeta = Json.Metadata(current);
            foreach (var field in new[] { "name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "resourceVersion" })
            {
                if (currentMeta[field] is { } value)
                {
                    meta[field] = value.DeepClone();
                }
                else
                {
                    meta.Remove(field);
                }
            }

            if (JsonNode.DeepEquals(candidate, current))
            {
                return current.DeepClone().AsObject();
            }

            if (type.TracksGeneration && !JsonNode.DeepEquals(candidate["spec"], current["spec"]))
            {
                meta["generation"] = (Json.GetLong(currentMeta, "generation") ?? 0) + 1;
            }

            return Commit(type, ns, name, candidate, current).Object;
        }
    }

    /// <summary>
    /// Deletes an object with the registry's semantics and returns the terminating object, or null when it was
    /// removed from storage. See <see cref="DeleteWithResult"/>.
    /// </summary>
    public JsonObject? Delete(ResourceType type, string? ns, string name, DeleteOptions options)
    {
        var result = DeleteWithResult(type, ns, name, options);
        return result.Removed ? null : result.Object;
    }

    /// <summary>
    /// Deletes an object as the generic registry does:
    /// <list type="bullet">
    /// <item>a pod bound to a node and not terminated is deleted gracefully: deletionTimestamp (now + grace) and
    /// deletionGracePeriodSeconds are set (MODIFIED); the node agent finishes with <see cref="FinalizeDelete"/>;</item>
    /// <item>the propagation policy adds or removes the <c>orphan</c> / <c>foregroundDeletion</c> finalizers
    /// (batch/v1 Jobs default to Orphan);</item>
    /// <item>an object left with finalizers gets deletionTimestamp (MODIFIED) and stays;</item>
    /// <item>anything else is removed now (DELETED).</item>
    /// </list>
    /// Deleting a namespace marks it Terminating and deletes its contents; it disappears once empty.
    /// </summary>
    public DeleteResult DeleteWithResult(ResourceType type, string? ns, string name, DeleteOptions options)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        ns = type.Namespaced ? ns : null;
        lock (_gate)
        {
            var current = Find(type, ns, name) ?? throw StoreException.NotFound(type, name);
            CheckPreconditions(type, name, current, options);
            if (type == ResourceType.Namespaces)
            {
                return DeleteNamespace(name, current);
            }

            return DeleteCore(type, ns, name, current, options);
        }
    }

    /// <summary>
    /// Ends a pod's graceful deletion (what the kubelet does once the containers have stopped): removes the pod,
    /// or, when finalizers remain, leaves it terminating with a zero grace period.
    /// </summary>
    public DeleteResult FinalizeDelete(ResourceType type, string? ns, string name) =>
        DeleteWithResult(type, ns, name, new DeleteOptions { GracePeriodSeconds = 0 });

    /// <summary>
    /// Watches a type in one namespace (or all when <paramref name="ns"/> is null). With
    /// <paramref name="fromResourceVersion"/> &lt;= 0 the current objects come first as ADDED events; otherwise
    /// every change after that resourceVersion is replayed from history, then live changes follow. The channel
    /// completes when <paramref name="ct"/> is cancelled.
    /// </summary>
    /// <exception cref="StoreException">410 Expired when the history no longer reaches back that far.</exception>
    public ChannelReader<StoreEvent> Watch(ResourceType type, string? ns, long fromResourceVersion, CancellationToken ct) =>
        Subscribe(type, ns, fromResourceVersion, ct).Reader;

    /// <summary>
    /// Like <see cref="Watch"/>, returning a handle that can also put a BOOKMARK into the stream, ordered after
    /// every change already delivered.
    /// </summary>
    public StoreWatch Subscribe(ResourceType type, string? ns, long fromResourceVersion, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(type);
        ns = type.Namespaced ? ns : null;
        var subscription = new Subscription(this, type, ns);
        lock (_gate)
        {
            if (fromResourceVersion <= 0)
            {
                foreach (var obj in Objects(type).Values.Where(o => InNamespace(type, ns, o)))
                {
                    subscription.Channel.Writer.TryWrite(new StoreEvent(StoreEventType.Added, obj.DeepClone().AsObject(), ResourceVersionOf(obj)));
                }
            }
            else
            {
                var history = HistoryOf(type);
                if (fromResourceVersion < history.StartResourceVersion)
                {
                    throw StoreException.Expired(
                        string.Format(CultureInfo.InvariantCulture, "too old resource version: {0} ({1})", fromResourceVersion, history.StartResourceVersion));
                }

                foreach (var change in history.Events.Where(e => e.ResourceVersion > fromResourceVersion))
                {
                    subscription.Offer(change);
                }
            }

            _subscriptions.Add(subscription);
        }

        subscription.Registration = ct.Register(subscription.Close);
        return subscription;
    }

    private DeleteResult DeleteCore(ResourceType type, string? ns, string name, JsonObject current, DeleteOptions options)
    {
        var candidate = current.DeepClone().AsObject();
        var meta = Json.Metadata(candidate);
        var now = _time.GetUtcNow();
        var alreadyDeleting = meta["deletionTimestamp"] is not null;

        if (type == ResourceType.Pods)
        {
            var existingGrace = Json.GetLong(meta, "deletionGracePeriodSeconds");
            if (alreadyDeleting && existingGrace is > 0)
            {
                // Graceful deletion is pending: only a shorter grace period changes anything.
                if (options.GracePeriodSeconds is not { } shorter || shorter >= existingGrace)
                {
                    return new DeleteResult(current.DeepClone().AsObject(), false);
                }

                var start = (Json.ParseTime(Json.GetString(meta, "deletionTimestamp")) ?? now).AddSeconds(-existingGrace.Value);
                if (shorter > 0)
                {
                    meta["deletionTimestamp"] = Json.FormatTime(start.AddSeconds(shorter));
                    meta["deletionGracePeriodSeconds"] = shorter;
                    return Commit(type, ns, name, candidate, current);
                }
            }
            else if (!alreadyDeleting)
            {
                var grace = Math.Max(0, options.GracePeriodSeconds ?? Json.GetLong(candidate, "spec", "terminationGracePeriodSeconds") ?? 0);
                var phase = Json.GetString(candidate, "status", "phase");
                if (string.IsNullOrEmpty(Json.GetString(candidate, "spec", "nodeName")) || phase is "Succeeded" or "Failed")
                {
                    grace = 0;
                }

                if (grace > 0)
                {
                    meta["deletionTimestamp"] = Json.FormatTime(now.AddSeconds(grace));
                    meta["deletionGracePeriodSeconds"] = grace;
                    Json.SetFinalizers(candidate, GcFinalizers(type, candidate, options));
                    return Commit(type, ns, name, candidate, current);
                }
            }
        }

        var finalizers = GcFinalizers(type, candidate, options);
        if (finalizers.Count == 0)
        {
            return Remove(type, ns, name, current);
        }

        Json.SetFinalizers(candidate, finalizers);
        if (!alreadyDeleting)
        {
            meta["deletionTimestamp"] = Json.FormatTime(now);
        }

        meta["deletionGracePeriodSeconds"] = 0;
        return Commit(type, ns, name, candidate, current);
    }

    private DeleteResult DeleteNamespace(string name, JsonObject current)
    {
        var candidate = current.DeepClone().AsObject();
        var result = new DeleteResult(current.DeepClone().AsObject(), false);
        if (Json.GetString(candidate, "metadata", "deletionTimestamp") is null)
        {
            Json.Metadata(candidate)["deletionTimestamp"] = Json.FormatTime(_time.GetUtcNow());
            Json.Metadata(candidate)["deletionGracePeriodSeconds"] = 0;
            if (candidate["status"] is not JsonObject status)
            {
                status = [];
                candidate["status"] = status;
            }

            status["phase"] = "Terminating";
            result = Commit(ResourceType.Namespaces, null, name, candidate, current);
        }

        // The namespace controller's job: delete everything in it (Background), then the namespace itself.
        foreach (var type in ResourceType.All.Where(t => t.Namespaced))
        {
            foreach (var obj in Objects(type).Values.Where(o => Json.GetString(o, "metadata", "namespace") == name).ToList())
            {
                if (Json.GetString(obj, "metadata", "deletionTimestamp") is null)
                {
                    DeleteCore(type, name, Json.GetString(obj, "metadata", "name")!, obj, new DeleteOptions { PropagationPolicy = PropagationPolicy.Background });
                }
            }
        }

        return TryFinishNamespace(name) ?? result;
    }

    private DeleteResult? TryFinishNamespace(string name)
    {
        var ns = Find(ResourceType.Namespaces, null, name);
        if (ns is null || Json.GetString(ns, "metadata", "deletionTimestamp") is null)
        {
            return null;
        }

        var empty = ResourceType.All.Where(t => t.Namespaced)
            .All(t => !Objects(t).Values.Any(o => Json.GetString(o, "metadata", "namespace") == name));
        return empty ? Remove(ResourceType.Namespaces, null, name, ns) : null;
    }

    private List<string> GcFinalizers(ResourceType type, JsonObject obj, DeleteOptions options)
    {
        var existing = Json.Finalizers(obj);
        bool orphan;
        bool foreground;
        if (options.OrphanDependents is { } explicitOrphan)
        {
            orphan = explicitOrphan;
            foreground = false;
        }
        else if (options.PropagationPolicy is { } policy)
        {
            orphan = policy == PropagationPolicy.Orphan;
            foreground = policy == PropagationPolicy.Foreground;
        }
        else if (existing.Contains(OrphanFinalizer) || existing.Contains(ForegroundFinalizer))
        {
            orphan = existing.Contains(OrphanFinalizer);
            foreground = !orphan;
        }
        else
        {
            // batch/v1 keeps the old default of orphaning a Job's pods (DefaultGarbageCollectionPolicy).
            orphan = type == ResourceType.Jobs;
            foreground = false;
        }

        var result = existing.Where(f => f != OrphanFinalizer && f != ForegroundFinalizer).ToList();
        if (orphan)
        {
            result.Add(OrphanFinalizer);
        }

        if (foreground)
        {
            result.Add(ForegroundFinalizer);
        }

        return result;
    }

    private static void CheckPreconditions(ResourceType type, string name, JsonObject current, DeleteOptions options)
    {
        var uid = Json.GetString(current, "metadata", "uid");
        if (options.PreconditionUid is { Length: > 0 } expectedUid && expectedUid != uid)
        {
            throw StoreException.Conflict(type, name, $"Precondition failed: UID in precondition: {expectedUid}, UID in object meta: {uid}");
        }

        var rv = Json.GetString(current, "metadata", "resourceVersion");
        if (options.PreconditionResourceVersion is { Length: > 0 } expectedRv && expectedRv != rv)
        {
            throw StoreException.Conflict(type, name, $"Precondition failed: ResourceVersion in precondition: {expectedRv}, ResourceVersion in object meta: {rv}");
        }
    }

    private DeleteResult Commit(ResourceType type, string? ns, string name, JsonObject candidate, JsonObject current)
    {
        var meta = Json.Metadata(candidate);
        if (meta["deletionTimestamp"] is not null && Json.Finalizers(candidate).Count == 0
            && !(type == ResourceType.Pods && Json.GetLong(meta, "deletionGracePeriodSeconds") is > 0))
        {
            return Remove(type, ns, name, candidate);
        }

        meta["resourceVersion"] = Next();
        Objects(type)[Key(ns, name)] = candidate;
        Publish(type, StoreEventType.Modified, candidate, current);
        return new DeleteResult(candidate.DeepClone().AsObject(), false);
    }

    private DeleteResult Remove(ResourceType type, string? ns, string name, JsonObject last)
    {
        var final = last.DeepClone().AsObject();
        Json.Metadata(final)["resourceVersion"] = Next();
        Objects(type).Remove(Key(ns, name));
        Publish(type, StoreEventType.Deleted, final, null);
        if (type.Namespaced && ns is not null)
        {
            TryFinishNamespace(ns);
        }

        return new DeleteResult(final.DeepClone().AsObject(), true);
    }

    private string GenerateName(ResourceType type, string? ns, string prefix)
    {
        if (prefix.Length > MaxGeneratedNameLength)
        {
            prefix = prefix[..MaxGeneratedNameLength];
        }

        string name = prefix;
        for (var attempt = 0; attempt < GenerateNameAttempts; attempt++)
        {
            name = prefix + RandomSuffix();
            if (Find(type, ns, name) is null)
            {
                return name;
            }
        }

        throw new StoreException(409, "AlreadyExists",
            $"{type.QualifiedResource} \"{name}\" already exists, the server was not able to generate a unique name for the object")
        {
            DetailsName = name,
            DetailsGroup = type.Group,
            DetailsKind = type.Plural,
            RetryAfterSeconds = 1,
        };
    }

    /// <summary>Five characters from the apiserver's name alphabet (no vowels, no confusable digits).</summary>
    internal static string RandomSuffix() =>
        string.Create(5, 0, static (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = NameAlphabet[RandomNumberGenerator.GetInt32(NameAlphabet.Length)];
            }
        });

    private static string? ResolveNamespace(ResourceType type, string? ns, JsonObject meta)
    {
        if (!type.Namespaced)
        {
            meta.Remove("namespace");
            return null;
        }

        var bodyNs = Json.GetString(meta, "namespace");
        if (string.IsNullOrEmpty(ns))
        {
            ns = bodyNs;
        }
        else if (!string.IsNullOrEmpty(bodyNs) && bodyNs != ns)
        {
            throw StoreException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        if (string.IsNullOrEmpty(ns))
        {
            throw StoreException.BadRequest("the server could not find the requested resource: a namespace is required");
        }

        return ns;
    }

    /// <summary>Puts kind, apiVersion and metadata first, as the server serializes objects.</summary>
    private static JsonObject Normalize(ResourceType type, JsonObject obj)
    {
        var result = new JsonObject
        {
            ["kind"] = type.Kind,
            ["apiVersion"] = type.ApiVersion,
            ["metadata"] = (obj["metadata"] as JsonObject)?.DeepClone() ?? new JsonObject(),
        };
        foreach (var (key, value) in obj)
        {
            if (key is not ("kind" or "apiVersion" or "metadata"))
            {
                result[key] = value?.DeepClone();
            }
        }

        return result;
    }

    private void Publish(ResourceType type, StoreEventType kind, JsonObject obj, JsonObject? previous)
    {
        var change = new Change(kind, obj, previous, ResourceVersionOf(obj), _time.GetTimestamp());
        var history = HistoryOf(type);
        history.Events.Enqueue(change);
        history.Trim(_historySize);
        foreach (var subscription in _subscriptions)
        {
            if (subscription.Type == type)
            {
                subscription.Offer(change);
            }
        }
    }

    private void Unsubscribe(Subscription subscription)
    {
        lock (_gate)
        {
            _subscriptions.Remove(subscription);
        }
    }

    private long CurrentForBookmark()
    {
        lock (_gate)
        {
            return _resourceVersion;
        }
    }

    private string Next() => (++_resourceVersion).ToString(CultureInfo.InvariantCulture);

    private static long ResourceVersionOf(JsonObject obj) =>
        long.TryParse(Json.GetString(obj, "metadata", "resourceVersion"), NumberStyles.None, CultureInfo.InvariantCulture, out var rv) ? rv : 0;

    private JsonObject? Find(ResourceType type, string? ns, string name) =>
        Objects(type).TryGetValue(Key(ns, name), out var obj) ? obj : null;

    private SortedDictionary<string, JsonObject> Objects(ResourceType type) =>
        _objects.TryGetValue(type, out var objects) ? objects : throw new ArgumentException($"{type} is not served by this store", nameof(type));

    private History HistoryOf(ResourceType type) => _history[type];

    private static bool InNamespace(ResourceType type, string? ns, JsonObject obj) =>
        !type.Namespaced || ns is null || Json.GetString(obj, "metadata", "namespace") == ns;

    private static string Key(string? ns, string name) => ns is null ? name : ns + "/" + name;

    private sealed record Change(StoreEventType Type, JsonObject Object, JsonObject? Previous, long ResourceVersion, long CommittedTimestamp);

    private sealed class History
    {
        public Queue<Change> Events { get; } = new();

        /// <summary>Every change after this resourceVersion is still in <see cref="Events"/>.</summary>
        public long StartResourceVersion { get; set; }

        public void Trim(int size)
        {
            while (Events.Count > size)
            {
                StartResourceVersion = Events.Dequeue().ResourceVersion;
            }
        }
    }

    private sealed class Subscription(ClusterStore store, ResourceType type, string? ns) : StoreWatch
    {
        public Channel<StoreEvent> Channel { get; } =
            System.Threading.Channels.Channel.CreateUnbounded<StoreEvent>(new UnboundedChannelOptions { SingleReader = true });

        public ResourceType Type { get; } = type;

        public CancellationTokenRegistration Registration { get; set; }

        public override ChannelReader<StoreEvent> Reader => Channel.Reader;

        public void Offer(Change change)
        {
            if (ns is not null && Json.GetString(change.Object, "metadata", "namespace") != ns)
            {
                return;
            }

            Channel.Writer.TryWrite(new StoreEvent(change.Type, change.Object.DeepClone().AsObject(), change.ResourceVersion)
            {
                PreviousObject = change.Previous?.DeepClone().AsObject(),
                CommittedTimestamp = change.CommittedTimestamp,
            });
        }

        public override void RequestBookmark()
        {
            // Taken under the store lock, so the bookmark is ordered after every change already offered.
            lock (store._gate)
            {
                var rv = store.CurrentForBookmark();
                Channel.Writer.TryWrite(new StoreEvent(StoreEventType.Bookmark, [], rv));
            }
        }

        public void Close()
        {
            store.Unsubscribe(this);
            Channel.Writer.TryComplete();
        }

        public override void Dispose()
        {
            Registration.Dispose();
            Close();
        }
    }
}

/// <summary>An open watch on the store.</summary>
public abstract class StoreWatch : IDisposable
{
    /// <summary>The events, in resourceVersion order.</summary>
    public abstract ChannelReader<StoreEvent> Reader { get; }

    /// <summary>Adds a BOOKMARK carrying the current resourceVersion after everything delivered so far.</summary>
    public abstract void RequestBookmark();

    /// <summary>Stops the watch and completes the channel.</summary>
    public abstract void Dispose();
}
