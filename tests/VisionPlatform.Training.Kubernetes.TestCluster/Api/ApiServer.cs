using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;
using VisionPlatform.Training.Kubernetes.TestCluster.Faults;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Validation;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>
/// The kube-apiserver's HTTP surface over <see cref="ClusterStore"/>: discovery, CRUD, list and watch with
/// selectors and pagination, status subresources, pods/log, SelfSubjectAccessReview, exact Status errors,
/// the request log and HTTP fault injection.
/// </summary>
internal sealed class ApiServer
{
    private readonly ClusterContext _context;
    private readonly Func<ApiServerHost> _host;
    private readonly Dictionary<ResourceType, IResourceStrategy> _strategies;

    public ApiServer(ClusterContext context, Func<ApiServerHost> host)
    {
        _context = context;
        _host = host;
        Faults = new HttpFaults(context.Store, () => host());
        _strategies = Strategies.Create(context.Options);
    }

    public HttpFaults Faults { get; }

    public RequestLog Requests { get; } = new();

    private ClusterStore Store => _context.Store;

    public async Task HandleAsync(HttpContext http)
    {
        var isWatch = HttpIO.Query(http, "watch") is "true" or "1";
        var request = ApiRequest.Parse(http.Request.Method, http.Request.Path.Value ?? "/", http.Request.QueryString.Value ?? "", isWatch);
        http.Response.OnStarting(() =>
        {
            Requests.Add(new RequestLogEntry(request.Method, request.Path, request.Query, http.Response.StatusCode, _context.Time.GetUtcNow(), request));
            return Task.CompletedTask;
        });

        try
        {
            var (status, retryAfter, delay) = Faults.Take(request);
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, http.RequestAborted).ConfigureAwait(false);
            }

            if (status is { } code)
            {
                await WriteFaultAsync(http, code, retryAfter).ConfigureAwait(false);
                return;
            }

            await DispatchAsync(http, request).ConfigureAwait(false);
        }
        catch (StoreException error) when (!http.Response.HasStarted)
        {
            await HttpIO.WriteStatusAsync(http, error).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away (or a fault dropped the connection); nothing left to answer.
        }
    }

    private async Task DispatchAsync(HttpContext http, ApiRequest request)
    {
        var path = request.Path.TrimEnd('/');
        var method = request.Method;
        if (method == "GET" && !request.IsResourceRequest)
        {
            JsonObject? document = path switch
            {
                "/version" => Discovery.Version(),
                "/api" => Discovery.CoreVersions(_host().Url.Authority),
                "/apis" => Discovery.GroupList(),
                "/api/v1" => Discovery.ResourceList("", "v1"),
                "/openapi/v3" => Discovery.OpenApiRoot(),
                "/openapi/v3/api/v1" => Discovery.OpenApiGroupVersion("", "v1"),
                _ when path.StartsWith("/openapi/v3/apis/", StringComparison.Ordinal) && path.Split('/') is { Length: 6 } p => Discovery.OpenApiGroupVersion(p[4], p[5]),
                _ when path.StartsWith("/apis/", StringComparison.Ordinal) => DiscoveryFor(path),
                _ => null,
            };
            if (document is null)
            {
                await HttpIO.WritePageNotFoundAsync(http).ConfigureAwait(false);
                return;
            }

            await HttpIO.WriteJsonAsync(http, 200, document).ConfigureAwait(false);
            return;
        }

        if (request is { IsResourceRequest: true, Group: "authorization.k8s.io", Version: "v1", Resource: "selfsubjectaccessreviews" })
        {
            await SelfSubjectAccessReviewAsync(http, request).ConfigureAwait(false);
            return;
        }

        if (request is { IsResourceRequest: true, Group: Kueue.KueueNames.VisibilityGroup })
        {
            await new Kueue.VisibilityApi(_context).ServeAsync(http, request).ConfigureAwait(false);
            return;
        }

        if (!request.IsResourceRequest || request.Type is not { } type)
        {
            await HttpIO.WritePageNotFoundAsync(http).ConfigureAwait(false);
            return;
        }

        if (!type.Namespaced && request.Namespace is not null)
        {
            await HttpIO.WritePageNotFoundAsync(http).ConfigureAwait(false);
            return;
        }

        Authorize(request, type);
        switch (request.Verb, request.Subresource)
        {
            case ("get", null):
                var found = GetOrThrow(type, request.Namespace, request.Name!);
                await HttpIO.WriteJsonAsync(http, 200, OutputConverter.For(http, _context.Time)?.FromObject(type, found) ?? found).ConfigureAwait(false);
                break;
            case ("get", "status") when HasStatus(type):
                await HttpIO.WriteJsonAsync(http, 200, GetOrThrow(type, request.Namespace, request.Name!)).ConfigureAwait(false);
                break;
            case ("get", "log") when type == ResourceType.Pods:
                await new PodLogStreamer(_context).ServeAsync(http, request.Namespace!, request.Name!).ConfigureAwait(false);
                break;
            case ("list", null):
                // listed first, as the apiserver converts after the list: a bad selector is reported before a bad includeObject
                var list = List(http, type, request.Namespace);
                await HttpIO.WriteJsonAsync(http, 200, OutputConverter.For(http, _context.Time)?.FromList(type, list) ?? list).ConfigureAwait(false);
                break;
            case ("watch", null):
                await new WatchStreamer(_context, Faults).ServeAsync(http, type, request.Namespace, OutputConverter.For(http, _context.Time)).ConfigureAwait(false);
                break;
            case ("create", null) when request.Name is null:
                await CreateAsync(http, request, type).ConfigureAwait(false);
                break;
            case ("update", null):
            case ("update", "status") when HasStatus(type):
                await UpdateAsync(http, request, type).ConfigureAwait(false);
                break;
            case ("patch", null):
            case ("patch", "status") when HasStatus(type):
                await PatchAsync(http, request, type).ConfigureAwait(false);
                break;
            case ("delete", null):
                await DeleteAsync(http, request, type).ConfigureAwait(false);
                break;
            case ("deletecollection", null):
                await DeleteCollectionAsync(http, request, type).ConfigureAwait(false);
                break;
            case (_, null):
                throw StoreException.MethodNotSupported(type, request.Verb);
            default:
                await HttpIO.WritePageNotFoundAsync(http).ConfigureAwait(false);
                break;
        }
    }

    private static JsonObject? DiscoveryFor(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length switch
        {
            2 => Discovery.Group(parts[1]),
            3 => Discovery.ResourceList(parts[1], parts[2]),
            _ => null,
        };
    }

    private static bool HasStatus(ResourceType type) =>
        type == ResourceType.Jobs || type == ResourceType.Pods || type == ResourceType.Namespaces || type == ResourceType.Nodes
        || type == ResourceType.Services || type == ResourceType.ResourceQuotas || Kueue.KueueNames.HasStatus(type);

    private void Authorize(ApiRequest request, ResourceType type)
    {
        var policy = _context.Options.AccessPolicy;
        if (policy is null || policy.Allows(request.Verb, type.Group, type.Plural, request.Subresource, request.Namespace))
        {
            return;
        }

        var resource = request.Subresource is null ? type.Plural : $"{type.Plural}/{request.Subresource}";
        var scope = request.Namespace is null ? "at the cluster scope" : $"in the namespace \"{request.Namespace}\"";
        throw StoreException.Forbidden(type, request.Name,
            $"User \"{_context.Options.UserName}\" cannot {request.Verb} resource \"{resource}\" in API group \"{type.Group}\" {scope}");
    }

    private JsonObject GetOrThrow(ResourceType type, string? ns, string name) =>
        Store.Get(type, ns, name) ?? throw StoreException.NotFound(type, name);

    private JsonObject List(HttpContext http, ResourceType type, string? ns)
    {
        var labels = LabelSelector.Parse(HttpIO.Query(http, "labelSelector"));
        var fields = FieldSelector.Parse(type, HttpIO.Query(http, "fieldSelector"));
        var limit = HttpIO.QueryLong(http, "limit") ?? 0;
        var token = HttpIO.Query(http, "continue");
        var continueFrom = ContinueToken.Parse(token, Store, type);
        var (items, rv) = Store.List(type, ns, o => labels.Matches(Json.StringMap(o, "metadata", "labels")) && fields.Matches(o));
        if (continueFrom is { } start)
        {
            rv = start.ResourceVersion;
            items = items.Where(o => string.CompareOrdinal(ContinueToken.KeyOf(type, o), start.Key) > 0).ToList();
        }

        var metadata = new JsonObject { ["resourceVersion"] = rv.ToString(CultureInfo.InvariantCulture) };
        if (limit > 0 && items.Count > limit)
        {
            var page = items.Take((int)limit).ToList();
            metadata["continue"] = ContinueToken.Create(rv, ContinueToken.KeyOf(type, page[^1]));
            metadata["remainingItemCount"] = items.Count - page.Count;
            items = page;
        }

        var array = new JsonArray();
        foreach (var item in items)
        {
            item.Remove("kind");
            item.Remove("apiVersion");
            array.Add(item);
        }

        return new JsonObject
        {
            ["kind"] = type.ListKind,
            ["apiVersion"] = type.ApiVersion,
            ["metadata"] = metadata,
            ["items"] = array,
        };
    }

    private async Task CreateAsync(HttpContext http, ApiRequest request, ResourceType type)
    {
        var body = await ReadTypedBodyAsync(http, type).ConfigureAwait(false);
        var strategy = _strategies[type];
        strategy.Decode(body);
        var dryRun = HttpIO.Query(http, "dryRun") == "All";
        using var admission = _context.Admission.Admit(type, request.Namespace, body);
        foreach (var admissionWarning in admission.Warnings)
        {
            http.Response.Headers.Append("Warning", admissionWarning);
        }
        if (dryRun)
        {
            var preview = Store.Get(ResourceType.Namespaces, null, request.Namespace ?? "default");
            if (type.Namespaced && preview is null)
            {
                throw StoreException.NotFound(ResourceType.Namespaces, request.Namespace ?? "");
            }
        }

        JsonObject created;
        if (dryRun)
        {
            // Run the whole create except the write, as the real dry-run does.
            created = body.DeepClone().AsObject();
            var meta = Json.Metadata(created);
            if (string.IsNullOrEmpty(Json.GetString(meta, "name")) && Json.GetString(meta, "generateName") is { } prefix)
            {
                meta["name"] = prefix + ClusterStore.RandomSuffix();
            }

            meta["uid"] = Guid.NewGuid().ToString();
            meta["creationTimestamp"] = Json.FormatTime(_context.Time.GetUtcNow());
            if (request.Namespace is not null)
            {
                meta["namespace"] = request.Namespace;
            }

            strategy.PrepareForCreate(created);
            if (Store.Get(type, request.Namespace, Json.GetString(meta, "name") ?? "") is not null)
            {
                throw StoreException.AlreadyExists(type, Json.GetString(meta, "name")!);
            }
        }
        else
        {
            created = Store.Create(type, request.Namespace, body, strategy.PrepareForCreate);
        }

        admission.Dispose();

        if (type == ResourceType.Jobs && Warnings.JobNameWarning(created) is { } warning)
        {
            http.Response.Headers.Append("Warning", warning);
        }

        await HttpIO.WriteJsonAsync(http, 201, created).ConfigureAwait(false);
    }

    private async Task UpdateAsync(HttpContext http, ApiRequest request, ResourceType type)
    {
        var body = await ReadTypedBodyAsync(http, type).ConfigureAwait(false);
        var meta = Json.Metadata(body);
        var bodyName = Json.GetString(meta, "name");
        if (bodyName != request.Name)
        {
            throw StoreException.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({request.Name})");
        }

        if (type.Namespaced && Json.GetString(meta, "namespace") is { Length: > 0 } bodyNs && bodyNs != request.Namespace)
        {
            throw StoreException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        long? expected = long.TryParse(Json.GetString(meta, "resourceVersion"), NumberStyles.None, CultureInfo.InvariantCulture, out var rv) ? rv : null;
        var strategy = _strategies[type];
        strategy.Decode(body);
        var updated = Store.Update(type, request.Namespace, request.Name!,
            existing => request.Subresource == "status" ? strategy.PrepareForStatusUpdate(body, existing) : strategy.PrepareForUpdate(body, existing),
            expected);
        await HttpIO.WriteJsonAsync(http, 200, updated).ConfigureAwait(false);
    }

    private async Task PatchAsync(HttpContext http, ApiRequest request, ResourceType type)
    {
        var contentType = http.Request.ContentType ?? "";
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(http.RequestAborted).ConfigureAwait(false);
        JsonNode? patch;
        try
        {
            patch = JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw StoreException.BadRequest($"error decoding patch: {ex.Message}");
        }

        var existing = GetOrThrow(type, request.Namespace, request.Name!);
        var patched = JsonPatch.Apply(contentType, existing, patch);
        var strategy = _strategies[type];
        strategy.Decode(patched);
        long? expected = Json.Walk(patch, "metadata", "resourceVersion") is not null
            && long.TryParse(Json.GetString(patched, "metadata", "resourceVersion"), NumberStyles.None, CultureInfo.InvariantCulture, out var rv)
            ? rv
            : null;
        var updated = Store.Update(type, request.Namespace, request.Name!,
            current =>
            {
                // Re-apply to the latest state so concurrent writers are not lost (PATCH is not a blind PUT).
                var latest = JsonPatch.Apply(contentType, current, patch);
                strategy.Decode(latest);
                return request.Subresource == "status" ? strategy.PrepareForStatusUpdate(latest, current) : strategy.PrepareForUpdate(latest, current);
            },
            expected);
        await HttpIO.WriteJsonAsync(http, 200, updated).ConfigureAwait(false);
    }

    private async Task DeleteAsync(HttpContext http, ApiRequest request, ResourceType type)
    {
        var options = await DeleteOptionsReader.ReadAsync(http).ConfigureAwait(false);
        if (HttpIO.Query(http, "dryRun") == "All")
        {
            await HttpIO.WriteJsonAsync(http, 200, GetOrThrow(type, request.Namespace, request.Name!)).ConfigureAwait(false);
            return;
        }

        var result = Store.DeleteWithResult(type, request.Namespace, request.Name!, options);
        if (type == ResourceType.Jobs && options.PropagationPolicy is null && options.OrphanDependents is null)
        {
            http.Response.Headers.Append("Warning",
                "299 - \"child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning\"");
        }

        // registries with ReturnDeletedObject (pods, services, resourcequotas) answer with the object, the others with a Status
        if (result.Removed && type != ResourceType.Pods && type != ResourceType.Namespaces && type != ResourceType.Services && type != ResourceType.ResourceQuotas)
        {
            var details = new JsonObject
            {
                ["name"] = request.Name,
            };
            if (type.Group.Length > 0)
            {
                details["group"] = type.Group;
            }

            details["kind"] = type.Plural;
            details["uid"] = Json.GetString(result.Object, "metadata", "uid");
            await HttpIO.WriteJsonAsync(http, 200, new JsonObject
            {
                ["kind"] = "Status",
                ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject(),
                ["status"] = "Success",
                ["details"] = details,
            }).ConfigureAwait(false);
            return;
        }

        var code = !result.Removed && options.OrphanDependents == false ? 202 : 200;
        await HttpIO.WriteJsonAsync(http, code, result.Object).ConfigureAwait(false);
    }

    private async Task DeleteCollectionAsync(HttpContext http, ApiRequest request, ResourceType type)
    {
        var options = await DeleteOptionsReader.ReadAsync(http).ConfigureAwait(false);
        var labels = LabelSelector.Parse(HttpIO.Query(http, "labelSelector"));
        var fields = FieldSelector.Parse(type, HttpIO.Query(http, "fieldSelector"));
        var (items, _) = Store.List(type, request.Namespace, o => labels.Matches(Json.StringMap(o, "metadata", "labels")) && fields.Matches(o));
        var deleted = new JsonArray();
        foreach (var item in items)
        {
            try
            {
                var result = Store.DeleteWithResult(type, Json.GetString(item, "metadata", "namespace"), Json.GetString(item, "metadata", "name")!, options);
                result.Object.Remove("kind");
                result.Object.Remove("apiVersion");
                deleted.Add(result.Object);
            }
            catch (StoreException e) when (e.Code == 404)
            {
                // Deleted concurrently: the collection delete tolerates that, as the registry does.
            }
        }

        await HttpIO.WriteJsonAsync(http, 200, new JsonObject
        {
            ["kind"] = type.ListKind,
            ["apiVersion"] = type.ApiVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = Store.ResourceVersion.ToString(CultureInfo.InvariantCulture) },
            ["items"] = deleted,
        }).ConfigureAwait(false);
    }

    private async Task SelfSubjectAccessReviewAsync(HttpContext http, ApiRequest request)
    {
        if (request.Verb != "create" || request.Name is not null)
        {
            throw new StoreException(405, "MethodNotAllowed", $"{request.Verb} is not supported on resources of kind \"selfsubjectaccessreviews.authorization.k8s.io\"");
        }

        var body = await HttpIO.ReadObjectAsync(http, "SelfSubjectAccessReview", "authorization.k8s.io/v1").ConfigureAwait(false)
            ?? throw StoreException.BadRequest("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf");
        var spec = body["spec"] as JsonObject ?? [];
        var resource = spec["resourceAttributes"] as JsonObject;
        var nonResource = spec["nonResourceAttributes"] as JsonObject;
        var errors = new FieldErrors();
        if (resource is null && nonResource is null)
        {
            errors.Required("spec.resourceAttributes", "exactly one of nonResourceAttributes or resourceAttributes must be specified");
        }
        else if (resource is not null && nonResource is not null)
        {
            errors.Invalid("spec.resourceAttributes", "resourceAttributes", "cannot be specified in combination with nonResourceAttributes");
        }

        if (errors.Any)
        {
            throw StoreException.Invalid("SelfSubjectAccessReview.authorization.k8s.io", "authorization.k8s.io", "SelfSubjectAccessReview", "", errors.Causes);
        }

        var policy = _context.Options.AccessPolicy;
        bool allowed;
        if (resource is not null)
        {
            allowed = policy is null || policy.Allows(
                Json.GetString(resource, "verb") ?? "",
                Json.GetString(resource, "group") ?? "",
                Json.GetString(resource, "resource") ?? "",
                Json.GetString(resource, "subresource"),
                Json.GetString(resource, "namespace") is { Length: > 0 } ns ? ns : null);
        }
        else
        {
            allowed = policy is null;
        }

        var status = new JsonObject { ["allowed"] = allowed };
        if (allowed)
        {
            status["reason"] = policy is null ? "allowed by the test cluster (no access policy)" : "allowed by the test cluster's access policy";
        }

        await HttpIO.WriteJsonAsync(http, 201, new JsonObject
        {
            ["kind"] = "SelfSubjectAccessReview",
            ["apiVersion"] = "authorization.k8s.io/v1",
            ["metadata"] = new JsonObject { ["creationTimestamp"] = null },
            ["spec"] = spec.DeepClone(),
            ["status"] = status,
        }).ConfigureAwait(false);
    }

    private static async Task<JsonObject> ReadTypedBodyAsync(HttpContext http, ResourceType type)
    {
        var body = await HttpIO.ReadObjectAsync(http, type.Kind, type.ApiVersion).ConfigureAwait(false)
            ?? throw StoreException.BadRequest("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf");
        var kind = Json.GetString(body, "kind");
        var apiVersion = Json.GetString(body, "apiVersion");
        if ((!string.IsNullOrEmpty(kind) && kind != type.Kind) || (!string.IsNullOrEmpty(apiVersion) && apiVersion != type.ApiVersion))
        {
            throw StoreException.BadRequest(
                $"the API version in the data ({apiVersion}) does not match the expected API version ({type.ApiVersion})");
        }

        return body;
    }

    private static async Task WriteFaultAsync(HttpContext http, int code, int? retryAfter)
    {
        if (code == 429)
        {
            // The max-in-flight and priority-and-fairness filters answer in plain text with Retry-After.
            http.Response.StatusCode = 429;
            http.Response.Headers.RetryAfter = (retryAfter ?? 1).ToString(CultureInfo.InvariantCulture);
            http.Response.ContentType = "text/plain; charset=utf-8";
            await http.Response.WriteAsync("Too many requests, please try again later.\n", http.RequestAborted).ConfigureAwait(false);
            return;
        }

        if (retryAfter is { } seconds)
        {
            http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        var (reason, message) = code switch
        {
            500 => ("InternalError", "Internal error occurred: injected fault"),
            503 => ("ServiceUnavailable", "the server is currently unable to handle the request"),
            504 => ("Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request"),
            _ => ("Unknown", $"the server responded with the status code {code} but did not return more information"),
        };
        await HttpIO.WriteStatusAsync(http, new StoreException(code, reason, message) { RetryAfterSeconds = retryAfter }).ConfigureAwait(false);
    }
}
