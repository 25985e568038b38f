using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;

namespace VisionPlatform.Training.Benchmarks.Http;

/// <summary>
/// Calls and response-body bytes one client made, by kind (<c>GET jobs</c>, <c>WATCH pods</c>, ...). Bytes are counted
/// as the client reads them, so a watch's bytes grow while it stays open. Headers are not counted (the same few hundred
/// bytes per call for every observer).
/// </summary>
internal sealed class HttpTally
{
    private readonly ConcurrentDictionary<string, int> _byKind = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StrongBox<long>> _bytesByKind = new(StringComparer.Ordinal);
    private long _calls;
    private long _bytes;

    public long Calls => Interlocked.Read(ref _calls);

    public long Bytes => Interlocked.Read(ref _bytes);

    public IReadOnlyDictionary<string, int> ByKind => _byKind;

    public void AddCall(string kind)
    {
        Interlocked.Increment(ref _calls);
        _byKind.AddOrUpdate(kind, 1, (_, n) => n + 1);
    }

    public void AddBytes(string kind, long count)
    {
        Interlocked.Add(ref _bytes, count);
        Interlocked.Add(ref _bytesByKind.GetOrAdd(kind, _ => new StrongBox<long>()).Value, count);
    }

    /// <summary>Calls, not counting those of <paramref name="kind"/> (e.g. the creates that start runs).</summary>
    public long CallsExcept(string kind) => Calls - (_byKind.TryGetValue(kind, out var n) ? n : 0);

    /// <summary>Bytes, not counting the answers to <paramref name="kind"/>.</summary>
    public long BytesExcept(string kind) => Bytes - (_bytesByKind.TryGetValue(kind, out var box) ? Interlocked.Read(ref box.Value) : 0);

    /// <summary><c>kind=n,...</c>, most frequent first.</summary>
    public string Describe() =>
        _byKind.IsEmpty ? "none" : string.Join(",", _byKind.OrderByDescending(k => k.Value).Select(k => $"{k.Key.Replace(' ', '_')}={k.Value}"));
}

/// <summary>
/// The innermost handler of a KubernetesClient (below the SDK's retry handler, so every attempt counts): counts calls
/// and wraps each response body in a stream that counts the bytes read from it.
/// </summary>
internal sealed class CountingHandler(HttpTally tally) : DelegatingHandler
{
    /// <summary>The kind of a Job create.</summary>
    public const string CreateJob = "POST jobs";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var kind = Kind(request);
        tally.AddCall(kind);
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        response.Content = new CountingContent(response.Content, tally, kind);
        return response;
    }

    /// <summary><c>GET jobs</c>, <c>WATCH pods</c>, <c>POST jobs</c>, <c>GET version</c>: the verb and the resource type.</summary>
    private static string Kind(HttpRequestMessage request)
    {
        var uri = request.RequestUri;
        var segments = uri?.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries) ?? [];
        var resource = "?";
        for (var i = segments.Length - 1; i >= 0; i--)
        {
            if (segments[i] is "jobs" or "pods" or "version" or "log" or "namespaces" or "secrets" or "configmaps" or "events" or "workloads" or "pendingworkloads")
            {
                resource = segments[i];
                break;
            }
        }

        var watch = uri?.Query.Contains("watch=true", StringComparison.Ordinal) == true;
        return $"{(watch ? "WATCH" : request.Method.Method)} {resource}";
    }

    private sealed class CountingContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly HttpTally _tally;
        private readonly string _kind;

        public CountingContent(HttpContent inner, HttpTally tally, string kind)
        {
            _inner = inner;
            _tally = tally;
            _kind = kind;
            foreach (var header in inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override async Task<Stream> CreateContentReadStreamAsync() =>
            new CountingStream(await _inner.ReadAsStreamAsync().ConfigureAwait(false), _tally, _kind);

        protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken) =>
            new CountingStream(await _inner.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), _tally, _kind);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            using var source = await CreateContentReadStreamAsync().ConfigureAwait(false);
            await source.CopyToAsync(stream).ConfigureAwait(false);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _inner.Headers.ContentLength ?? 0;
            return _inner.Headers.ContentLength.HasValue;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private sealed class CountingStream(Stream inner, HttpTally tally, string kind) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Count(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).ConfigureAwait(false));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private int Count(int read)
        {
            tally.AddBytes(kind, read);
            return read;
        }
    }
}
