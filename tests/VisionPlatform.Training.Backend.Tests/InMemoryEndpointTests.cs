using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Backend.Tests;

// The sample exactly as configured by its appsettings.json (subprocess executor, USD price table), with the in-memory
// executor standing in for "subprocess" and a fake clock: fast endpoint and event-stream tests over real HTTP.
public sealed class InMemoryEndpointTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
    private BackendHost _host = null!;

    private HttpClient Http => _host.Http;

    private InMemoryTrainingExecutor Executor => _host.App.Services.GetInMemoryExecutor(TrainingExecutorNames.Subprocess);

    public async Task InitializeAsync() =>
        _host = await BackendHost.StartAsync(
            b =>
            {
                b.Services.AddSingleton<TimeProvider>(_clock);
                b.Services.AddTrainingExecutors(o => o.DefaultExecutor = TrainingExecutorNames.Subprocess).AddInMemoryExecutor(TrainingExecutorNames.Subprocess);
            },
            "--Backend:Events:HeartbeatInterval=00:00:01");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static object Request(string jobId = "job-42", int epochs = 2) => new
    {
        jobId,
        projectId = "project-7",
        framework = "ultralytics",
        taskType = "object_detection",
        model = "yolo11n",
        dataset = "datasets/coco8",
        datasetFormat = "yolo",
        epochs,
        advancedConfig = new { epoch_seconds = 0.1 },
    };

    private async Task<TrainingRun> StartAsync(object request)
    {
        using var response = await Http.PostAsJsonAsync("/runs", request);
        response.StatusCode.Should().Be(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var run = TrainingRun.Parse(body.GetProperty("handle").GetString()!);
        response.Headers.Location!.OriginalString.Should().Be("/runs/" + run.JobId);
        body.GetProperty("events").GetString().Should().Be($"/runs/{run.JobId}/events");
        return run;
    }

    private async Task<JsonElement> GetJsonAsync(string path) => await Http.GetFromJsonAsync<JsonElement>(path);

    [Fact]
    public async Task A_run_streams_its_phases_and_progress_as_server_sent_events_and_the_stream_ends_with_it()
    {
        var run = await StartAsync(Request());
        await using var stream = await SseConnection.OpenAsync(Http, $"/runs/{run.JobId}/events");

        Executor.SetRunning(run);
        Executor.ReportProgress(run, 1, 2, new Dictionary<string, double> { ["loss"] = 0.5 });
        Executor.ReportProgress(run, 2, 2, new Dictionary<string, double> { ["loss"] = 0.25 });
        Executor.Complete(run);
        await stream.Completion.WaitAsync(TimeSpan.FromSeconds(60));

        stream.ContentType!.MediaType.Should().Be("text/event-stream");
        stream.CacheControl!.NoCache.Should().BeTrue();
        var frames = stream.Frames;
        frames.Select(f => f.Event).Should().Equal("phase", "phase", "progress", "progress", "phase");
        frames.Select(f => f.Json.GetProperty("type").GetString()).Should().Equal(frames.Select(f => f.Event), "the event name is the JSON type");
        frames.Where(f => f.Event == "phase").Select(f => f.Json.GetProperty("status").GetProperty("phase").GetString())
            .Should().Equal("Pending", "Running", "Succeeded");
        frames.Where(f => f.Event == "progress").Select(f => f.Json.GetProperty("progress").GetProperty("epoch").GetInt32()).Should().Equal(1, 2);
        var ids = frames.Select(f => f.Id!.Split(':')).ToArray();
        ids.Should().OnlyContain(id => id[0] == "job-42");
        ids.Select(id => long.Parse(id[1])).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        var last = frames[^1].Json;
        last.GetProperty("previousPhase").GetString().Should().Be("Running");
        last.GetProperty("status").GetProperty("cost").GetProperty("currency").GetString().Should().Be("USD");
        last.GetProperty("status").GetProperty("progress").GetProperty("percent").GetDouble().Should().Be(100);
    }

    [Fact]
    public async Task The_all_runs_stream_starts_with_the_live_runs_then_sends_events_of_every_run_and_heartbeats()
    {
        var first = await StartAsync(Request("job-a"));
        Executor.SetRunning(first);
        await using var stream = await SseConnection.OpenAsync(Http, "/events?logs=true");

        var second = await StartAsync(Request("job-b"));
        Executor.AppendLog(second, "loading dataset");
        await Http.PostAsync("/runs/job-a/stop", null);

        var frames = await stream.WaitForAsync(f => f.Any(x => x.Event == "phase" && x.Id!.StartsWith("job-a:", StringComparison.Ordinal) && x.Json.GetProperty("status").GetProperty("phase").GetString() == "Stopped"));
        frames[0].Event.Should().Be("phase");
        frames[0].Json.GetProperty("status").GetProperty("phase").GetString().Should().Be("Running", "a new subscriber starts from the current state");
        frames.Should().Contain(f => f.Event == "phase" && f.Id == "job-b:1");
        frames.Should().Contain(f => f.Event == "log" && f.Json.GetProperty("line").GetProperty("text").GetString() == "loading dataset");

        // Silence: the fake clock drives the heartbeat timer, so advance it until the comment arrives.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!stream.Comments.Contains("heartbeat") && DateTime.UtcNow < deadline)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(50);
        }

        stream.Comments.Should().Contain("heartbeat");
        stream.Completion.IsCompleted.Should().BeFalse("the all-runs stream lasts as long as the client stays");
    }

    [Fact]
    public async Task A_client_that_disconnects_ends_its_subscription_and_a_new_one_works()
    {
        var run = await StartAsync(Request());
        Executor.SetRunning(run);
        var stream = await SseConnection.OpenAsync(Http, $"/runs/{run.JobId}/events");
        await stream.WaitForAsync(f => f.Count >= 1);
        Executor.IsFollowed(run.JobId).Should().BeTrue("the stream subscribed to the run's progress");

        await stream.DisposeAsync();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Executor.IsFollowed(run.JobId) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(25);
        }

        Executor.IsFollowed(run.JobId).Should().BeFalse("the server ended the subscription when the client went away");
        await using var again = await SseConnection.OpenAsync(Http, $"/runs/{run.JobId}/events");
        Executor.ReportProgress(run, 1, 2);
        var frames = await again.WaitForAsync(f => f.Any(x => x.Event == "progress"));
        frames[0].Json.GetProperty("status").GetProperty("phase").GetString().Should().Be("Running");
    }

    [Fact]
    public async Task The_status_shows_progress_while_running_and_cost_once_finished()
    {
        var run = await StartAsync(Request(epochs: 4));
        (await GetJsonAsync("/runs/job-42")).GetProperty("phase").GetString().Should().Be("Pending");
        Executor.SetRunning(run);
        _clock.Advance(TimeSpan.FromMinutes(15));
        Executor.ReportProgress(run, 1, 4, new Dictionary<string, double> { ["accuracy"] = 0.8 });

        var running = await GetJsonAsync("/runs/job-42");
        running.GetProperty("phase").GetString().Should().Be("Running");
        running.GetProperty("handle").GetString().Should().Be(run.ToString());
        running.GetProperty("progress").GetProperty("percent").GetDouble().Should().Be(25);
        running.GetProperty("progress").GetProperty("metrics").GetProperty("accuracy").GetDouble().Should().Be(0.8);
        running.GetProperty("progress").GetProperty("estimatedTimeRemaining").GetString().Should().Be("00:45:00");
        running.GetProperty("cost").ValueKind.Should().Be(JsonValueKind.Null);

        _clock.Advance(TimeSpan.FromMinutes(15));
        Executor.Complete(run);

        var done = await GetJsonAsync("/runs/job-42");
        done.GetProperty("phase").GetString().Should().Be("Succeeded");
        done.GetProperty("exitCode").GetInt32().Should().Be(0);
        var cost = done.GetProperty("cost");
        cost.GetProperty("runningHours").GetDouble().Should().BeApproximately(0.5, 1e-9);
        cost.GetProperty("cpuHours").GetDouble().Should().BeApproximately(0.5, 1e-9);
        cost.GetProperty("amount").GetDecimal().Should().Be(0.02m, "appsettings.json prices a CPU-hour at 0.04 USD");
        cost.GetProperty("currency").GetString().Should().Be("USD");

        var list = await GetJsonAsync("/runs?phase=succeeded");
        list.EnumerateArray().Select(r => r.GetProperty("jobId").GetString()).Should().Equal("job-42");
        (await GetJsonAsync("/runs?phase=Running,Pending")).GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Logs_are_plain_text_with_tail_and_follow_streams_until_the_run_ends()
    {
        var run = await StartAsync(Request());
        Executor.SetRunning(run);
        Executor.AppendLog(run, "line 1", "line 2", "line 3");

        using var tail = await Http.GetAsync("/runs/job-42/logs?tail=2");
        tail.Content.Headers.ContentType!.MediaType.Should().Be("text/plain");
        (await tail.Content.ReadAsStringAsync()).Should().Be("line 2\nline 3\n");

        using var follow = await Http.GetAsync("/runs/job-42/logs?tail=0&follow=true", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await follow.Content.ReadAsStreamAsync());
        Executor.AppendLog(run, "line 4");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        (await reader.ReadLineAsync(timeout.Token)).Should().Be("line 4", "followed lines go out as they are written");
        Executor.AppendLog(run, "line 5");
        Executor.Complete(run);
        (await reader.ReadToEndAsync(timeout.Token)).Should().Be("line 5\n", "the stream ends when the run does");
    }

    [Fact]
    public async Task Stop_and_delete_stop_the_run()
    {
        var a = await StartAsync(Request("job-a"));
        Executor.SetRunning(a);
        await StartAsync(Request("job-b"));

        using var stopped = await Http.PostAsync("/runs/job-a/stop?graceSeconds=5", null);
        using var deleted = await Http.DeleteAsync("/runs/job-b");

        stopped.StatusCode.Should().Be(HttpStatusCode.OK);
        (await stopped.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("phase").GetString().Should().Be("Stopped");
        deleted.StatusCode.Should().Be(HttpStatusCode.OK);
        (await deleted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString().Should().Be(TrainingStatusReasons.StoppedByUser);
        (await Executor.ListAsync()).Should().OnlyContain(s => s.Phase == TrainingPhase.Stopped);
    }

    [Fact]
    public async Task Bad_input_is_a_400_problem_naming_each_field_its_value_and_the_rule()
    {
        using var response = await Http.PostAsJsonAsync("/runs", new { jobId = "job-1", framework = "ultralytics", taskType = "object_detection", dataset = "d", datasetFormat = "yolo", epochs = 0, gpus = -1 });

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray()
            .ToDictionary(e => e.GetProperty("field").GetString()!, e => (Value: e.GetProperty("value").GetString(), Rule: e.GetProperty("rule").GetString()));
        errors.Keys.Should().BeEquivalentTo("model", "epochs", "gpus");
        errors["epochs"].Value.Should().Be("0");
        errors["epochs"].Rule.Should().Contain("between 1 and 100000");
        errors["gpus"].Value.Should().Be("-1");
        Executor.StartedJobs.Should().BeEmpty("nothing starts on bad input");

        using var badTail = await Http.GetAsync("/runs/job-1/logs?tail=-1");
        badTail.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await badTail.Content.ReadAsStringAsync()).Should().Contain("\"field\":\"tail\"");
        using var badPhase = await Http.GetAsync("/runs?phase=Sleeping");
        (await badPhase.Content.ReadAsStringAsync()).Should().Contain("\"field\":\"phase\"").And.Contain("Sleeping");
        using var badGrace = await Http.PostAsync("/runs/job-1/stop?graceSeconds=-3", null);
        badGrace.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_retried_start_returns_the_same_handle_and_a_changed_one_is_a_409()
    {
        var first = await StartAsync(Request());
        var retried = await StartAsync(Request());
        using var changed = await Http.PostAsJsonAsync("/runs", Request(epochs: 50));

        retried.Should().Be(first);
        changed.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await changed.Content.ReadAsStringAsync()).Should().Contain("job-42");
        Executor.StartedJobs.Should().ContainSingle();
    }

    [Fact]
    public async Task Unknown_job_ids_are_404_on_every_endpoint()
    {
        foreach (var path in new[] { "/runs/ghost", "/runs/ghost/logs", "/runs/ghost/events" })
        {
            using var response = await Http.GetAsync(path);
            response.StatusCode.Should().Be(HttpStatusCode.NotFound, path);
        }

        using var stop = await Http.PostAsync("/runs/ghost/stop", null);
        stop.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_page_at_the_root_follows_the_event_stream()
    {
        using var response = await Http.GetAsync("/");

        response.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        (await response.Content.ReadAsStringAsync()).Should().Contain("new EventSource(\"/events\")");
    }
}
