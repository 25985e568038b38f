using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Validation;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>
/// Serves <c>GET pods/{name}/log</c> from the node agent's log files
/// (<c>logs/&lt;ns&gt;/&lt;pod&gt;/&lt;container&gt;.log</c>, each line <c>&lt;RFC3339Nano&gt; &lt;text&gt;</c>;
/// <c>&lt;container&gt;.previous.log</c> for <c>previous=true</c>), with the apiserver's and kubelet's answers:
/// 204 for an unscheduled pod, 400 for a missing or unknown container or one that has not started,
/// 422 for invalid options, and <c>follow</c> until the container has terminated and the file is drained.
/// </summary>
internal sealed class PodLogStreamer(ClusterContext context)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    public async Task ServeAsync(HttpContext http, string ns, string podName)
    {
        var follow = HttpIO.QueryBool(http, "follow");
        var timestamps = HttpIO.QueryBool(http, "timestamps");
        var previous = HttpIO.QueryBool(http, "previous");
        var tailLines = HttpIO.QueryLong(http, "tailLines");
        var sinceSeconds = HttpIO.QueryLong(http, "sinceSeconds");
        var limitBytes = HttpIO.QueryLong(http, "limitBytes");
        var sinceTime = HttpIO.Query(http, "sinceTime");
        var errors = new FieldErrors();
        if (tailLines is < 0)
        {
            errors.Invalid("tailLines", tailLines.Value, "must be greater than or equal to 0");
        }

        if (limitBytes is < 1)
        {
            errors.Invalid("limitBytes", limitBytes.Value, "must be greater than 0");
        }

        if (sinceSeconds is < 1)
        {
            errors.Invalid("sinceSeconds", sinceSeconds.Value, "must be greater than 0");
        }

        if (sinceSeconds is not null && sinceTime is not null)
        {
            errors.Forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified");
        }

        var pod = context.Store.Get(ResourceType.Pods, ns, podName) ?? throw StoreException.NotFound(ResourceType.Pods, podName);
        if (errors.Any)
        {
            throw StoreException.Invalid("PodLogOptions", "", "PodLogOptions", podName, errors.Causes);
        }

        var container = ResolveContainer(pod, podName, HttpIO.Query(http, "container"));
        if (string.IsNullOrEmpty(Json.GetString(pod, "spec", "nodeName")))
        {
            http.Response.StatusCode = 204;
            return;
        }

        CheckContainerStatus(pod, podName, container, previous);
        var path = context.ContainerLogPath(ns, podName, container);
        if (previous)
        {
            path = Path.ChangeExtension(path, ".previous.log");
            follow = false;
        }

        // sinceTime reaches the kubelet in whole seconds (the apiserver's LogLocation formats it with time.RFC3339), so a
        // fraction is dropped: lines from the start of that second on are returned.
        DateTimeOffset? since = sinceSeconds is { } s ? context.Time.GetUtcNow().AddSeconds(-s) : WholeSeconds(Json.ParseTime(sinceTime));
        var uid = Json.GetString(pod, "metadata", "uid");
        http.Response.StatusCode = 200;
        http.Response.ContentType = "text/plain";
        await http.Response.StartAsync(http.RequestAborted).ConfigureAwait(false);
        await http.Response.Body.FlushAsync(http.RequestAborted).ConfigureAwait(false);

        var writer = new LimitedWriter(http, limitBytes);
        long offset = 0;
        var pending = new StringBuilder();
        var lines = ReadNewLines(path, ref offset, pending);
        lines = lines.Where(l => since is null || (ParseStamp(l) is { } t && t >= since)).ToList();
        if (tailLines is { } tail)
        {
            lines = lines.Skip(Math.Max(0, lines.Count - (int)tail)).ToList();
        }

        if (!await writer.WriteLinesAsync(lines, timestamps).ConfigureAwait(false) || !follow)
        {
            return;
        }

        while (!http.RequestAborted.IsCancellationRequested)
        {
            var current = context.Store.Get(ResourceType.Pods, ns, podName);
            var finished = current is null || Json.GetString(current, "metadata", "uid") != uid || IsTerminated(current, container);
            var more = ReadNewLines(path, ref offset, pending);
            if (!await writer.WriteLinesAsync(more, timestamps).ConfigureAwait(false))
            {
                return;
            }

            if (finished)
            {
                // One last read after seeing the container end, so nothing it wrote before exiting is lost.
                await writer.WriteLinesAsync(ReadNewLines(path, ref offset, pending, flushPartial: true), timestamps).ConfigureAwait(false);
                return;
            }

            await Task.Delay(PollInterval, http.RequestAborted).ConfigureAwait(false);
        }
    }

    private static DateTimeOffset? WholeSeconds(DateTimeOffset? time) =>
        time is { } t ? new DateTimeOffset(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero) : null;

    private static string ResolveContainer(JsonObject pod, string podName, string? requested)
    {
        var containers = Names(pod, "containers");
        var initContainers = Names(pod, "initContainers");
        if (string.IsNullOrEmpty(requested))
        {
            if (containers.Count == 1)
            {
                return containers[0];
            }

            var message = $"a container name must be specified for pod {podName}, choose one of: [{string.Join(' ', containers)}]";
            if (initContainers.Count > 0)
            {
                message += $" or one of the init containers: [{string.Join(' ', initContainers)}]";
            }

            throw StoreException.BadRequest(message);
        }

        return containers.Contains(requested) || initContainers.Contains(requested)
            ? requested
            : throw StoreException.BadRequest($"container {requested} is not valid for pod {podName}");
    }

    private static void CheckContainerStatus(JsonObject pod, string podName, string container, bool previous)
    {
        var status = FindStatus(pod, container);
        if (status is null)
        {
            throw StoreException.BadRequest($"container \"{container}\" in pod \"{podName}\" is waiting to start: ContainerCreating");
        }

        var lastTerminated = Json.Walk(status, "lastState", "terminated") as JsonObject;
        if (previous)
        {
            if (lastTerminated is null)
            {
                throw StoreException.BadRequest($"previous terminated container \"{container}\" in pod \"{podName}\" not found");
            }

            return;
        }

        if (Json.Walk(status, "state", "running") is not null || Json.Walk(status, "state", "terminated") is not null || lastTerminated is not null)
        {
            return;
        }

        if (Json.Walk(status, "state", "waiting") is JsonObject waiting)
        {
            var reason = Json.GetString(waiting, "reason") ?? "";
            throw StoreException.BadRequest(reason switch
            {
                "ErrImagePull" => $"container \"{container}\" in pod \"{podName}\" is waiting to start: image can't be pulled",
                "ImagePullBackOff" => $"container \"{container}\" in pod \"{podName}\" is waiting to start: trying and failing to pull image",
                _ => $"container \"{container}\" in pod \"{podName}\" is waiting to start: {reason}",
            });
        }

        throw StoreException.BadRequest($"container \"{container}\" in pod \"{podName}\" is waiting to start - no logs yet");
    }

    private static bool IsTerminated(JsonObject pod, string container)
    {
        if (Json.GetString(pod, "status", "phase") is "Succeeded" or "Failed")
        {
            return true;
        }

        var status = FindStatus(pod, container);
        return status is not null && Json.Walk(status, "state", "terminated") is not null;
    }

    private static JsonObject? FindStatus(JsonObject pod, string container)
    {
        foreach (var list in new[] { "containerStatuses", "initContainerStatuses" })
        {
            if (Json.Walk(pod, "status", list) is JsonArray statuses)
            {
                var match = statuses.OfType<JsonObject>().FirstOrDefault(s => Json.GetString(s, "name") == container);
                if (match is not null)
                {
                    return match;
                }
            }
        }

        return null;
    }

    private static List<string> Names(JsonObject pod, string list) =>
        Json.Walk(pod, "spec", list) is JsonArray array
            ? array.OfType<JsonObject>().Select(c => Json.GetString(c, "name") ?? "").ToList()
            : [];

    private static List<string> ReadNewLines(string path, ref long offset, StringBuilder pending, bool flushPartial = false)
    {
        var lines = new List<string>();
        if (File.Exists(path))
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length > offset)
            {
                stream.Seek(offset, SeekOrigin.Begin);
                var buffer = new byte[stream.Length - offset];
                var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
                offset += read;
                pending.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }
        }

        var text = pending.ToString();
        var end = text.LastIndexOf('\n');
        if (end >= 0)
        {
            lines.AddRange(text[..end].Split('\n').Select(l => l.TrimEnd('\r')));
            pending.Remove(0, end + 1);
        }

        if (flushPartial && pending.Length > 0)
        {
            lines.Add(pending.ToString());
            pending.Clear();
        }

        return lines;
    }

    private static DateTimeOffset? ParseStamp(string line)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        return space > 0 ? ParseRfc3339Nano(line[..space]) : null;
    }

    private static DateTimeOffset? ParseRfc3339Nano(string text)
    {
        // .NET keeps 7 fractional digits; RFC3339Nano has up to 9.
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0 && text.EndsWith('Z'))
        {
            var fraction = text[(dot + 1)..^1];
            text = text[..dot] + "." + (fraction.Length > 7 ? fraction[..7] : fraction) + "Z";
        }

        return Json.ParseTime(text);
    }

    private sealed class LimitedWriter(HttpContext http, long? limitBytes)
    {
        private long _written;

        /// <summary>Writes lines, flushing once; false when limitBytes is reached.</summary>
        public async Task<bool> WriteLinesAsync(IReadOnlyList<string> lines, bool timestamps)
        {
            if (lines.Count == 0)
            {
                return true;
            }

            var sb = new StringBuilder();
            foreach (var line in lines)
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                sb.Append(timestamps || space < 0 ? line : line[(space + 1)..]).Append('\n');
            }

            var bytes = Encoding.UTF8.GetBytes(sb.ToString());
            var complete = true;
            if (limitBytes is { } limit && _written + bytes.Length >= limit)
            {
                bytes = bytes[..(int)(limit - _written)];
                complete = false;
            }

            _written += bytes.Length;
            await http.Response.Body.WriteAsync(bytes, http.RequestAborted).ConfigureAwait(false);
            await http.Response.Body.FlushAsync(http.RequestAborted).ConfigureAwait(false);
            return complete;
        }
    }
}
