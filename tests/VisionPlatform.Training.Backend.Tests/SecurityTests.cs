using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Backend.Events;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Backend.Tests;

// Issue 13 item 8 over real HTTP: authentication, project scoping, AllowedHosts, the stop's cross-site guard, body and
// advanced-config limits, the event-stream cap and SSE field sanitising. The in-memory executor stands in for "subprocess".
public sealed class SecurityTests : IAsyncLifetime
{
    private BackendHost _host = null!;

    private HttpClient Http => _host.Http;

    private InMemoryTrainingExecutor Executor => _host.App.Services.GetInMemoryExecutor(TrainingExecutorNames.Subprocess);

    public async Task InitializeAsync() =>
        _host = await BackendHost.StartAsync(
            b => b.Services.AddTrainingExecutors(o => o.DefaultExecutor = TrainingExecutorNames.Subprocess).AddInMemoryExecutor(TrainingExecutorNames.Subprocess),
            "--Backend:Limits:MaxEventStreamsPerCaller=2");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static object Request(string jobId, string? projectId = null, object? advancedConfig = null) => new
    {
        jobId,
        projectId,
        framework = "ultralytics",
        taskType = "object_detection",
        model = "yolo11n",
        dataset = "datasets/coco8",
        datasetFormat = "yolo",
        epochs = 2,
        advancedConfig = advancedConfig ?? new { epoch_seconds = 0.1 },
    };

    private async Task<JsonElement> StartAsync(HttpClient http, object request)
    {
        using var response = await http.PostAsJsonAsync("/runs", request);
        response.StatusCode.Should().Be(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<string> CodeAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(status, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("code").GetString()!;
    }

    [Fact]
    public async Task Every_endpoint_but_health_is_401_without_a_valid_token()
    {
        var handle = (await StartAsync(Http, Request("job-1"))).GetProperty("handle").GetString()!;
        using var anonymous = _host.Client(token: null);
        using var wrongKey = _host.Client(TokenWithOtherKey());

        foreach (var http in new[] { anonymous, wrongKey })
        {
            foreach (var (method, path) in new[]
            {
                (HttpMethod.Get, "/"), (HttpMethod.Get, "/runs"), (HttpMethod.Post, "/runs"), (HttpMethod.Get, "/runs/job-1"),
                (HttpMethod.Get, "/runs/job-1/logs"), (HttpMethod.Post, "/runs/job-1/stop"), (HttpMethod.Delete, "/runs/job-1"),
                (HttpMethod.Get, "/runs/job-1/events"), (HttpMethod.Get, "/events"), (HttpMethod.Get, "/operations/" + handle),
                (HttpMethod.Get, "/metrics"),
            })
            {
                using var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Post ? JsonContent.Create(Request("job-1")) : null };
                using var response = await http.SendAsync(request);
                response.StatusCode.Should().Be(HttpStatusCode.Unauthorized, $"{method} {path}");
                response.Headers.WwwAuthenticate.Should().Contain(h => h.Scheme == "Bearer");
            }
        }

        using var health = await anonymous.GetAsync("/health");
        health.StatusCode.Should().Be(HttpStatusCode.OK, "probes carry no token");
        (await Executor.ListAsync()).Should().ContainSingle().Which.Phase.Should().Be(TrainingPhase.Pending, "nothing was stopped");
    }

    [Fact]
    public async Task A_run_of_another_project_is_404_everywhere_and_never_listed_and_a_start_takes_the_token_project()
    {
        // The body names project-8; the token is project-7's, and the run is project-7's.
        var handle = (await StartAsync(Http, Request("secret-run", projectId: "project-8"))).GetProperty("handle").GetString()!;
        var client = _host.App.Services.GetRequiredService<TrainingClient>();
        (await client.ListAsync(new TrainingRunQuery { ProjectId = BackendHost.Project })).Select(s => s.JobId).Should().Equal("secret-run");
        (await client.ListAsync(new TrainingRunQuery { ProjectId = "project-8" })).Should().BeEmpty();

        using var other = _host.Client(BackendHost.Token("project-8"));
        other.DefaultRequestHeaders.Add("X-Training-Request", "1");
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, "/runs/secret-run"), (HttpMethod.Get, "/runs/secret-run/logs"), (HttpMethod.Get, "/runs/secret-run/events"),
            (HttpMethod.Post, "/runs/secret-run/stop"), (HttpMethod.Delete, "/runs/secret-run"), (HttpMethod.Get, "/operations/" + handle),
        })
        {
            using var response = await other.SendAsync(new HttpRequestMessage(method, path));
            (await CodeAsync(response, HttpStatusCode.NotFound)).Should().Be("RunNotFound", $"{method} {path} answers as for an unknown run");
        }

        (await other.GetFromJsonAsync<JsonElement>("/runs")).GetArrayLength().Should().Be(0);
        (await other.GetFromJsonAsync<JsonElement>("/runs?projectId=" + BackendHost.Project)).GetArrayLength().Should().Be(0);
        (await Http.GetFromJsonAsync<JsonElement>("/runs")).EnumerateArray().Select(r => r.GetProperty("jobId").GetString()).Should().Equal("secret-run");
        (await Http.GetFromJsonAsync<JsonElement>("/runs/secret-run")).GetProperty("phase").GetString().Should().Be("Pending", "the other project stopped nothing");

        // The all-runs stream of project-8 shows project-8's run and never project-7's.
        await using var stream = await SseConnection.OpenAsync(other, "/events");
        var secret = TrainingRun.Parse(handle);
        Executor.SetRunning(secret);
        await StartAsync(other, Request("mine"));
        var frames = await stream.WaitForAsync(f => f.Any(x => x.Id?.StartsWith("mine:", StringComparison.Ordinal) == true));
        frames.Should().NotContain(f => f.Id != null && f.Id.StartsWith("secret-run", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_host_header_that_is_not_allowed_is_400()
    {
        using var evil = new HttpRequestMessage(HttpMethod.Get, "/health");
        evil.Headers.Host = "attacker.example";
        using var refused = await Http.SendAsync(evil);
        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest, "AllowedHosts is localhost;127.0.0.1 (DNS rebinding)");

        using var runs = new HttpRequestMessage(HttpMethod.Get, "/runs");
        runs.Headers.Host = "attacker.example";
        using var refusedRuns = await Http.SendAsync(runs);
        refusedRuns.StatusCode.Should().Be(HttpStatusCode.BadRequest);

        using var local = new HttpRequestMessage(HttpMethod.Get, "/health");
        local.Headers.Host = "localhost";
        using var allowed = await Http.SendAsync(local);
        allowed.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_stop_without_a_json_body_or_the_custom_header_is_refused_and_stops_nothing()
    {
        var run = TrainingRun.Parse((await StartAsync(Http, Request("job-1"))).GetProperty("handle").GetString()!);
        Executor.SetRunning(run);
        using var plain = _host.Client(BackendHost.Token(BackendHost.Project));

        using var form = await plain.PostAsync("/runs/job-1/stop", new FormUrlEncodedContent([new("graceSeconds", "0")]));
        (await CodeAsync(form, HttpStatusCode.BadRequest)).Should().Be("JsonOrHeaderRequired");
        using var bodyless = await plain.PostAsync("/runs/job-1/stop", null);
        (await CodeAsync(bodyless, HttpStatusCode.BadRequest)).Should().Be("JsonOrHeaderRequired");
        using var text = await plain.PostAsync("/runs/job-1/stop", new StringContent("{}", Encoding.UTF8, "text/plain"));
        (await CodeAsync(text, HttpStatusCode.BadRequest)).Should().Be("JsonOrHeaderRequired");
        (await Executor.ListAsync()).Should().ContainSingle().Which.Phase.Should().Be(TrainingPhase.Running);

        using var json = await plain.PostAsync("/runs/job-1/stop", JsonContent.Create(new { }));
        json.StatusCode.Should().Be(HttpStatusCode.OK, await json.Content.ReadAsStringAsync());
        (await json.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("phase").GetString().Should().Be("Stopped");
    }

    [Fact]
    public async Task A_start_body_over_the_limit_is_413_and_starts_nothing()
    {
        var big = new string('x', 300 * 1024);
        using var declared = await Http.PostAsync("/runs", new StringContent(JsonSerializer.Serialize(Request("big-1", advancedConfig: new { big })), Encoding.UTF8, "application/json"));
        (await CodeAsync(declared, HttpStatusCode.RequestEntityTooLarge)).Should().Be("RequestTooLarge");

        // No Content-Length (chunked): Kestrel's per-request limit stops the read.
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(Request("big-2", advancedConfig: new { big })))));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var chunkedRequest = new HttpRequestMessage(HttpMethod.Post, "/runs") { Content = chunked };
        chunkedRequest.Headers.TransferEncodingChunked = true;
        using var streamed = await Http.SendAsync(chunkedRequest);
        streamed.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);

        (await Executor.ListAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task AdvancedConfig_must_be_a_json_object_within_one_argument()
    {
        using var array = await Http.PostAsJsonAsync("/runs", Request("adv-1", advancedConfig: new[] { 1, 2 }));
        var text = await array.Content.ReadAsStringAsync();
        array.StatusCode.Should().Be(HttpStatusCode.BadRequest, text);
        text.Should().Contain("advancedConfig").And.Contain("must be a JSON object");

        using var large = await Http.PostAsJsonAsync("/runs", Request("adv-2", advancedConfig: new { big = new string('x', 130 * 1024) }));
        var largeText = await large.Content.ReadAsStringAsync();
        large.StatusCode.Should().Be(HttpStatusCode.BadRequest, largeText);
        largeText.Should().Contain("advancedConfig").And.Contain("must be at most 131053 bytes");
        (await Executor.ListAsync()).Should().BeEmpty();

        // Accepted configs reach the executor as compact JSON re-serialised by the server.
        using var spaced = await Http.PostAsync("/runs", new StringContent("""{"jobId":"adv-3","framework":"ultralytics","taskType":"object_detection","model":"yolo11n","dataset":"d","datasetFormat":"yolo","advancedConfig":{ "a" :  1 }}""", Encoding.UTF8, "application/json"));
        spaced.StatusCode.Should().Be(HttpStatusCode.Accepted, await spaced.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_caller_may_hold_only_the_configured_event_streams_then_429_and_other_callers_are_unaffected()
    {
        await using var first = await SseConnection.OpenAsync(Http, "/events");
        var second = await SseConnection.OpenAsync(Http, "/events");
        using var third = await Http.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        (await CodeAsync(third, HttpStatusCode.TooManyRequests)).Should().Be("TooManyEventStreams");
        await StartAsync(Http, Request("job-1"));
        using var oneRun = await Http.GetAsync("/runs/job-1/events", HttpCompletionOption.ResponseHeadersRead);
        (await CodeAsync(oneRun, HttpStatusCode.TooManyRequests)).Should().Be("TooManyEventStreams");

        using var otherCaller = _host.Client(BackendHost.Token(BackendHost.Project, subject: "someone-else"));
        await using var theirs = await SseConnection.OpenAsync(otherCaller, "/events");

        // A closed stream gives its place back (once the server notices the disconnect).
        await second.DisposeAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        HttpStatusCode status;
        do
        {
            await Task.Delay(50);
            using var again = await Http.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
            status = again.StatusCode;
        }
        while (status == HttpStatusCode.TooManyRequests && DateTime.UtcNow < deadline);

        status.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Sse_id_and_event_fields_carry_no_line_breaks_from_a_job_id()
    {
        // Over HTTP a job id with a line break never becomes a run: the SDK refuses control characters.
        using var refused = await Http.PostAsJsonAsync("/runs", Request("job\nevent: forged"));
        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest);

        // And should one reach the stream anyway (another executor's run), the frame escapes it.
        var json = _host.App.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var item = new TrainingLogEvent
        {
            Run = new TrainingRun("subprocess", "a\r\nevent: forged\ndata: x", "r1"),
            Sequence = 3,
            Line = new TrainingLogLine("hello"),
            Timestamp = DateTimeOffset.UnixEpoch,
        };
        var frame = ServerSentEventStream.Frame(item, json);
        var lines = frame.TrimEnd('\n').Split('\n');
        lines.Should().HaveCount(3, frame);
        lines[0].Should().Be("event: log");
        lines[1].Should().Be("id: a%0D%0Aevent: forged%0Adata: x:3");
        lines[2].Should().StartWith("data: {");
        frame.Should().NotContain("\r");
    }

    [Fact]
    public void Sse_phase_events_carry_no_host_paths_in_the_status_message_and_phases_as_strings()
    {
        var json = _host.App.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var item = new TrainingPhaseChangedEvent
        {
            Run = new TrainingRun("subprocess", "job-1", "r1"),
            Sequence = 4,
            Timestamp = DateTimeOffset.UnixEpoch,
            Status = new TrainingRunStatus
            {
                Run = new TrainingRun("subprocess", "job-1", "r1"),
                Phase = TrainingPhase.Failed,
                Reason = TrainingStatusReasons.LaunchFailed,
                Message = "The trainer could not be launched: An error occurred trying to start process '/opt/venvs/timm/bin/python' with working directory '/var/lib/training/runs/job-1'.",
            },
        };

        var frame = ServerSentEventStream.Frame(item, json);

        frame.Should().NotContain("/opt/venvs").And.NotContain("/var/lib/training")
            .And.Contain("start process '<path>' with working directory '<path>'")
            .And.Contain("\"phase\":\"Failed\"");
    }

    private static string TokenWithOtherKey() => Security.BackendAuthentication.MintToken(
        new Security.BackendAuthOptions { SigningKey = "some-other-key-that-the-server-does-not-know" },
        BackendHost.Project,
        TimeSpan.FromDays(20 * 365),
        new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero)));
}
