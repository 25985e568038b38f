namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>One request the API server answered.</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="Path">URL path.</param>
/// <param name="Query">Raw query string (with <c>?</c>) or empty.</param>
/// <param name="StatusCode">HTTP status code sent.</param>
/// <param name="Timestamp">When the response started.</param>
/// <param name="Request">The parsed request (verb, resource, namespace, name).</param>
public sealed record RequestLogEntry(string Method, string Path, string Query, int StatusCode, DateTimeOffset Timestamp, ApiRequest Request)
{
    /// <summary>Kubernetes verb: get, list, watch, create, update, patch, delete...</summary>
    public string Verb => Request.Verb;

    /// <summary>Plural resource, or empty for non-resource paths.</summary>
    public string Resource => Request.Resource;
}

/// <summary>
/// Every request the API server answered, recorded when the response starts (so open watches and log streams
/// are counted while they run). Thread-safe; <see cref="Clear"/> starts a new count.
/// </summary>
public sealed class RequestLog
{
    private readonly Lock _gate = new();
    private readonly List<RequestLogEntry> _entries = [];

    /// <summary>A snapshot of the entries, oldest first.</summary>
    public IReadOnlyList<RequestLogEntry> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    /// <summary>Number of entries recorded.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Number of entries matching a predicate.</summary>
    public int CountWhere(Func<RequestLogEntry, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        lock (_gate)
        {
            return _entries.Count(predicate);
        }
    }

    /// <summary>Number of entries with this verb (and resource, when given).</summary>
    public int CountOf(string verb, string? resource = null) =>
        CountWhere(e => e.Verb == verb && (resource is null || e.Resource == resource));

    /// <summary>Forgets every entry.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _entries.Clear();
        }
    }

    internal void Add(RequestLogEntry entry)
    {
        lock (_gate)
        {
            _entries.Add(entry);
        }
    }
}
