using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace VisionPlatform.Training.Storage.Tests;

public enum ProxyFault
{
    /// <summary>Reset the connection of the first upload (<c>PUT</c>) in the middle of its body.</summary>
    CutUploadBody,

    /// <summary>Read the first upload (<c>PUT</c>) completely, then answer 503 SlowDown instead of passing it on.</summary>
    RejectFirstUpload,

    /// <summary>Reset the connection of the first object download (<c>GET</c> of a key) in the middle of the response body.</summary>
    CutDownloadBody,

    /// <summary>Flip one byte of the first upload's (<c>PUT</c>) body after <c>cutAfterBytes</c>, keeping its length: the server stores altered bytes.</summary>
    CorruptUploadBody,

    /// <summary>No fault: pass everything through (with <see cref="FaultyProxy.OnRequest"/> to act on a request).</summary>
    None,
}

/// <summary>
/// A loopback TCP proxy in front of the S3 server that injects one fault, once; everything else passes through untouched.
/// </summary>
public sealed class FaultyProxy : IAsyncDisposable
{
    private static readonly string[] RequestMethods = ["GET /", "PUT /", "POST /", "HEAD /", "DELETE /"];
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly ProxyFault _fault;
    private readonly long _cutAfterBytes;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _acceptLoop;
    private int _faults;
    private int _connectionCount;

    public FaultyProxy(int targetPort, ProxyFault fault, long cutAfterBytes = 256 * 1024)
    {
        _targetPort = targetPort;
        _fault = fault;
        _cutAfterBytes = cutAfterBytes;
        _listener.Start();
        _acceptLoop = AcceptAsync();
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>How many faults were injected (0 or 1).</summary>
    public int FaultCount => Volatile.Read(ref _faults);

    /// <summary>Called with each request line (for example <c>PUT /bucket/key?partNumber=1&amp;uploadId=...</c>) before it is passed on.</summary>
    public Action<string>? OnRequest { get; set; }

    /// <summary>What happened, for diagnostics.</summary>
    public ConcurrentQueue<string> Events { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await Quiet(_acceptLoop);
        await Task.WhenAll(_connections.Select(Quiet)).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    private bool TryTakeFault() => Interlocked.CompareExchange(ref _faults, 1, 0) == 0;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _connections.Add(HandleAsync(client, Interlocked.Increment(ref _connectionCount)));
        }
    }

    private async Task HandleAsync(TcpClient client, int id)
    {
        using var _ = client;
        using var server = new TcpClient();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _targetPort, linked.Token);
            var state = new ConnectionState(id);

            // Take both streams before either pump starts: a pump can run to completion synchronously (the whole request
            // already buffered) and shut down or reset a socket, after which TcpClient.GetStream() throws.
            var clientStream = client.GetStream();
            var serverStream = server.GetStream();
            var up = PumpUpAsync(client, server, clientStream, serverStream, state, linked.Token);
            var down = PumpDownAsync(client, server, serverStream, clientStream, state, linked.Token);
            await Task.WhenAny(up, down);
            await linked.CancelAsync();
            await Task.WhenAll(Quiet(up), Quiet(down));
        }
        catch (Exception e) when (IsConnectionError(e))
        {
        }
    }

    private async Task PumpUpAsync(TcpClient client, TcpClient server, NetworkStream source, NetworkStream target, ConnectionState state, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        long sinceUpload = -1;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            var text = Encoding.ASCII.GetString(buffer, 0, Math.Min(read, 200));

            // A client sends a request only after the answer to the previous one, so a kept-alive connection's next
            // request starts a read. Whether a request gets a connection of its own or reuses one depends on timing.
            if (StartsRequest(text))
            {
                Events.Enqueue($"connection {state.Id}: {text.Split('\r')[0]}");
                OnRequest?.Invoke(text.Split('\r')[0]);
                sinceUpload = -1;
                if (text.StartsWith("PUT /", StringComparison.Ordinal) && FaultCount == 0)
                {
                    if (_fault == ProxyFault.RejectFirstUpload && TryTakeFault())
                    {
                        await RejectAsync(client, source, buffer, read, state, cancellationToken);
                        return;
                    }

                    if (_fault is ProxyFault.CutUploadBody or ProxyFault.CorruptUploadBody)
                    {
                        sinceUpload = 0;
                    }
                }
            }

            if (_fault == ProxyFault.CutDownloadBody && text.StartsWith("GET /", StringComparison.Ordinal) && !text.Contains("list-type", StringComparison.Ordinal))
            {
                state.Downloading = true;
            }

            if (sinceUpload >= 0)
            {
                sinceUpload += read;
                if (_fault == ProxyFault.CorruptUploadBody && sinceUpload >= _cutAfterBytes && TryTakeFault())
                {
                    buffer[read - 1] ^= 0x5A;
                    Events.Enqueue($"connection {state.Id}: upload byte {sinceUpload - 1} altered");
                    sinceUpload = -1;
                }
                else if (_fault == ProxyFault.CutUploadBody && sinceUpload >= _cutAfterBytes && TryTakeFault())
                {
                    // Forward part of the body, then reset both sides: the server sees a truncated body, the client a reset.
                    await target.WriteAsync(buffer.AsMemory(0, read / 2), cancellationToken);
                    Events.Enqueue($"connection {state.Id}: upload cut after {sinceUpload} bytes");
                    Reset(client, server);
                    return;
                }
            }

            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
    }

    private async Task PumpDownAsync(TcpClient client, TcpClient server, NetworkStream source, NetworkStream target, ConnectionState state, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        long sent = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (state.Downloading)
            {
                sent += read;
                if (sent >= _cutAfterBytes && TryTakeFault())
                {
                    await target.WriteAsync(buffer.AsMemory(0, read / 2), cancellationToken);
                    Events.Enqueue($"connection {state.Id}: download cut after {sent} bytes");
                    Reset(client, server);
                    return;
                }
            }

            await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
    }

    /// <summary>Reads the whole request (headers and Content-Length body), then answers 503 SlowDown and closes.</summary>
    private async Task RejectAsync(TcpClient client, NetworkStream source, byte[] buffer, int read, ConnectionState state, CancellationToken cancellationToken)
    {
        var received = new MemoryStream();
        received.Write(buffer, 0, read);
        int headerEnd;
        while ((headerEnd = IndexOfHeaderEnd(received)) < 0)
        {
            var more = await source.ReadAsync(buffer, cancellationToken);
            if (more == 0)
            {
                return;
            }

            received.Write(buffer, 0, more);
        }

        var headers = Encoding.ASCII.GetString(received.GetBuffer(), 0, headerEnd);
        var lengthLine = headers.Split("\r\n").First(l => l.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase));
        var contentLength = long.Parse(lengthLine[(lengthLine.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var bodyReceived = received.Length - (headerEnd + 4);
        while (bodyReceived < contentLength)
        {
            var more = await source.ReadAsync(buffer, cancellationToken);
            if (more == 0)
            {
                return;
            }

            bodyReceived += more;
        }

        const string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>proxy</RequestId></Error>";
        var response = $"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
        await source.WriteAsync(Encoding.ASCII.GetBytes(response), cancellationToken);
        await source.FlushAsync(cancellationToken);
        Events.Enqueue($"connection {state.Id}: upload answered with 503 after {bodyReceived} body bytes");
        client.Client.Shutdown(SocketShutdown.Both);
    }

    private static bool StartsRequest(string text) => RequestMethods.Any(m => text.StartsWith(m, StringComparison.Ordinal));

    private static int IndexOfHeaderEnd(MemoryStream stream) =>
        stream.GetBuffer().AsSpan(0, (int)stream.Length).IndexOf("\r\n\r\n"u8);

    private static void Reset(TcpClient client, TcpClient server)
    {
        client.Client.LingerState = new LingerOption(true, 0);
        server.Client.LingerState = new LingerOption(true, 0);
        client.Client.Close();
        server.Client.Close();
    }

    private static bool IsConnectionError(Exception e) => e is IOException or SocketException or OperationCanceledException or ObjectDisposedException;

    private static async Task Quiet(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e) when (IsConnectionError(e))
        {
        }
    }

    private sealed class ConnectionState(int id)
    {
        public int Id { get; } = id;

        public volatile bool Downloading;
    }
}
