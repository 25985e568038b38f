using System.Net.Http.Headers;
using System.Text.Json;

namespace VisionPlatform.Training.Backend.Tests;

/// <summary>One server-sent-events frame as a browser's EventSource sees it.</summary>
internal sealed record SseFrame(string? Event, string? Id, string Data)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement;

    public override string ToString() => $"[{Event} {Id}] {Data}";
}

/// <summary>
/// A server-sent-events client that parses the wire format (event/id/data fields, comments, blank-line dispatch)
/// in the background; <see cref="WaitForAsync"/> polls what arrived with a deadline.
/// </summary>
internal sealed class SseConnection : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<SseFrame> _frames = [];
    private readonly List<string> _comments = [];
    private readonly HttpResponseMessage _response;
    private readonly Task _reading;

    private SseConnection(HttpResponseMessage response)
    {
        _response = response;
        _reading = ReadAsync();
    }

    public MediaTypeHeaderValue? ContentType => _response.Content.Headers.ContentType;

    public CacheControlHeaderValue? CacheControl => _response.Headers.CacheControl;

    /// <summary>Completes when the server ends the stream.</summary>
    public Task Completion => _reading;

    public IReadOnlyList<SseFrame> Frames
    {
        get
        {
            lock (_frames)
            {
                return _frames.ToArray();
            }
        }
    }

    public IReadOnlyList<string> Comments
    {
        get
        {
            lock (_frames)
            {
                return _comments.ToArray();
            }
        }
    }

    public static async Task<SseConnection> OpenAsync(HttpClient http, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        return new SseConnection(response);
    }

    public async Task<IReadOnlyList<SseFrame>> WaitForAsync(Func<IReadOnlyList<SseFrame>, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var frames = Frames;
            if (done(frames))
            {
                return frames;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The expected frames did not arrive; got: " + string.Join(Environment.NewLine, frames));
            }

            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        try
        {
            await _reading;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or HttpRequestException)
        {
        }

        _stop.Dispose();
    }

    private async Task ReadAsync()
    {
        await Task.Yield();
        using var reader = new StreamReader(await _response.Content.ReadAsStreamAsync(_stop.Token));
        string? eventType = null, id = null;
        List<string> data = [];
        while (await reader.ReadLineAsync(_stop.Token) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Count > 0)
                {
                    lock (_frames)
                    {
                        _frames.Add(new SseFrame(eventType, id, string.Join('\n', data)));
                    }
                }

                eventType = id = null;
                data = [];
                continue;
            }

            if (line[0] == ':')
            {
                lock (_frames)
                {
                    _comments.Add(line[1..].Trim());
                }

                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? string.Empty : line[(colon + 1)..];
            value = value.StartsWith(' ') ? value[1..] : value;
            switch (field)
            {
                case "event": eventType = value; break;
                case "id": id = value; break;
                case "data": data.Add(value); break;
            }
        }
    }
}
