using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace VisionPlatform.Training.Kubernetes.Tests.Routing;

/// <summary>
/// A loopback HTTP server that answers each request with the next scripted reply (then 200 with a JSON body) and
/// records when each request arrived: precise control for the resilience handler's retry rules.
/// </summary>
internal sealed class ScriptedApiServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<Reply> _replies = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public ScriptedApiServer()
    {
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}");

    public ConcurrentQueue<(string Method, string PathAndQuery, DateTimeOffset At, string Body)> Requests { get; } = new();

    public void Enqueue(int status, string? retryAfter = null, TimeSpan delay = default) =>
        _replies.Enqueue(new Reply(status, retryAfter, delay));

    public static int FreePort() => VisionPlatform.Training.TestSupport.TestPorts.Reserve();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => AnswerAsync(context));
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        var at = DateTimeOffset.UtcNow;
        using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
        {
            Requests.Enqueue((context.Request.HttpMethod, context.Request.Url!.PathAndQuery, at, await reader.ReadToEndAsync()));
        }

        var reply = _replies.TryDequeue(out var r) ? r : new Reply(200, null, TimeSpan.Zero);
        try
        {
            if (reply.Delay > TimeSpan.Zero)
            {
                await Task.Delay(reply.Delay, _stop.Token);
            }

            context.Response.StatusCode = reply.Status;
            if (reply.RetryAfter is not null)
            {
                context.Response.AddHeader("Retry-After", reply.RetryAfter);
            }

            context.Response.ContentType = "application/json";
            var body = reply.Status == 200
                ? """{"major":"1","minor":"31","gitVersion":"v1.31.0"}"""
                : $$"""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"scripted {{reply.Status}}","reason":"Scripted","code":{{reply.Status}}}""";
            var bytes = Encoding.UTF8.GetBytes(body);
            await context.Response.OutputStream.WriteAsync(bytes, _stop.Token);
            context.Response.Close();
        }
        catch (Exception e) when (e is OperationCanceledException or HttpListenerException or ObjectDisposedException or IOException)
        {
            context.Response.Abort();
        }
    }

    private sealed record Reply(int Status, string? RetryAfter, TimeSpan Delay);
}
