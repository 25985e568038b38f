using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using VisionPlatform.Training.Backend.Problems;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Backend.Tests;

// Health, /metrics and the error table over real HTTP, with the in-memory executor standing in for "subprocess".
public sealed class ProblemAndTelemetryTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
    private BackendHost _host = null!;

    private HttpClient Http => _host.Http;

    private InMemoryTrainingExecutor Executor => _host.App.Services.GetInMemoryExecutor(TrainingExecutorNames.Subprocess);

    public async Task InitializeAsync() =>
        _host = await BackendHost.StartAsync(b =>
        {
            b.Services.AddSingleton<TimeProvider>(_clock);
            b.Services.AddTrainingExecutors(o => o.DefaultExecutor = TrainingExecutorNames.Subprocess).AddInMemoryExecutor(TrainingExecutorNames.Subprocess);
        });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static object Request(string jobId = "job-42", int epochs = 2) => new
    {
        jobId,
        framework = "ultralytics",
        taskType = "object_detection",
        model = "yolo11n",
        dataset = "datasets/coco8",
        datasetFormat = "yolo",
        epochs,
    };

    private async Task<JsonElement> StartAsync(object request)
    {
        using var response = await Http.PostAsJsonAsync("/runs", request);
        response.StatusCode.Should().Be(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(status, text);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = JsonDocument.Parse(text).RootElement;
        problem.GetProperty("status").GetInt32().Should().Be((int)status);
        problem.GetProperty("type").GetString().Should().Be(TrainingProblems.TypePrefix + code);
        problem.GetProperty("code").GetString().Should().Be(code);
        problem.GetProperty("title").GetString().Should().NotBeNullOrWhiteSpace();
        return problem;
    }

    [Fact]
    public async Task Health_reports_the_training_executors_check_as_json_with_string_statuses()
    {
        using var response = await Http.GetAsync("/health");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("status").GetString().Should().Be("Healthy");
        var check = body.GetProperty("checks").GetProperty("training-executors");
        check.GetProperty("status").GetString().Should().Be("Healthy");
        check.GetProperty("data").GetProperty("subprocess").GetString().Should().Be("available");
    }

    [Fact]
    public async Task Health_is_503_when_no_executor_can_start_runs()
    {
        Executor.SetAvailable(false, "maintenance");

        using var response = await Http.GetAsync("/health");

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString().Should().Be("Unhealthy");
    }

    [Fact]
    public async Task Metrics_shows_the_sdk_instruments_after_a_run()
    {
        var started = await StartAsync(Request("metrics-1"));
        var run = TrainingRun.Parse(started.GetProperty("handle").GetString()!);
        Executor.SetRunning(run);
        Executor.Complete(run);

        using var response = await Http.GetAsync("/metrics");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var text = await response.Content.ReadAsStringAsync();
        text.Should().Contain("training_starts_total{", "training.starts is exported in the Prometheus format");
        text.Should().MatchRegex("training_starts_total\\{[^}]*training_executor=\"subprocess\"[^}]*\\} [1-9]");
    }

    [Fact]
    public async Task Validation_errors_are_400_with_the_field_errors()
    {
        using var response = await Http.PostAsJsonAsync("/runs", new { jobId = "job-1", framework = "ultralytics", taskType = "object_detection", dataset = "d", datasetFormat = "yolo", model = "m", epochs = 0 });

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest, "ValidationFailed");
        var error = problem.GetProperty("errors").EnumerateArray().Should().ContainSingle().Subject;
        error.GetProperty("field").GetString().Should().Be("epochs");
        error.GetProperty("value").GetString().Should().Be("0");
    }

    [Fact]
    public async Task A_job_id_reused_with_other_settings_is_409()
    {
        await StartAsync(Request());

        using var response = await Http.PostAsJsonAsync("/runs", Request(epochs: 50));

        var problem = await ProblemAsync(response, HttpStatusCode.Conflict, "JobConflict");
        problem.GetProperty("detail").GetString().Should().Contain("job-42");
    }

    [Fact]
    public async Task An_unavailable_executor_is_503_and_the_body_names_no_host_path()
    {
        Executor.SetAvailable(false, "the disk at /var/lib/training/runs is full");

        using var response = await Http.PostAsJsonAsync("/runs", Request());

        var problem = await ProblemAsync(response, HttpStatusCode.ServiceUnavailable, "ExecutorUnavailable");
        problem.GetProperty("detail").GetString().Should().Contain("the disk at <path> is full").And.NotContain("/var/lib");
    }

    [Fact]
    public async Task Unknown_job_ids_are_404()
    {
        using var response = await Http.GetAsync("/runs/ghost");

        await ProblemAsync(response, HttpStatusCode.NotFound, "RunNotFound");
    }

    [Fact]
    public async Task A_handle_is_read_back_and_a_bad_or_unknown_one_is_400_or_404_never_500()
    {
        var handle = (await StartAsync(Request())).GetProperty("handle").GetString()!;

        var found = await Http.GetFromJsonAsync<JsonElement>("/operations/" + handle);
        found.GetProperty("jobId").GetString().Should().Be("job-42");
        found.GetProperty("phase").GetString().Should().Be("Pending");

        using (var bad = await Http.GetAsync("/operations/not-a-handle"))
        {
            await ProblemAsync(bad, HttpStatusCode.BadRequest, "BadHandle");
        }

        using (var otherExecutor = await Http.GetAsync("/operations/" + handle.Replace("/subprocess/", "/nowhere/", StringComparison.Ordinal)))
        {
            await ProblemAsync(otherExecutor, HttpStatusCode.NotFound, "UnknownExecutor");
        }

        using var unknownRun = await Http.GetAsync("/operations/" + handle.Replace("job-42", "job-43", StringComparison.Ordinal));
        await ProblemAsync(unknownRun, HttpStatusCode.NotFound, "RunNotFound");
    }

    [Fact]
    public async Task Delete_answers_the_phase_as_a_string()
    {
        var started = await StartAsync(Request());
        Executor.SetRunning(TrainingRun.Parse(started.GetProperty("handle").GetString()!));

        using var response = await Http.DeleteAsync("/runs/job-42");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("phase").ValueKind.Should().Be(JsonValueKind.String);
        body.GetProperty("phase").GetString().Should().Be("Stopped");
    }

    [Fact]
    public void Every_error_code_the_sdk_defines_has_a_deliberate_status()
    {
        var codes = typeof(TrainingErrorCode).GetProperties(BindingFlags.Public | BindingFlags.Static)
            .Where(p => p.PropertyType == typeof(TrainingErrorCode))
            .Select(p => (TrainingErrorCode)p.GetValue(null)!)
            .ToArray();

        codes.Should().NotBeEmpty();
        TrainingProblems.Table.Keys.Should().BeEquivalentTo(codes, "a new code needs a title in TrainingProblems.Titles");
        // One mapping: the sample answers exactly the status the SDK's TrainingHttpStatus (and the docs) give each code.
        TrainingProblems.Table.Should().AllSatisfy(row => row.Value.Status.Should().Be(TrainingHttpStatus.For(row.Key), row.Key.Value));
        foreach (var code in codes)
        {
            var problem = TrainingProblems.For(new TrainingException(code, "m")).Should().BeOfType<ProblemHttpResult>().Subject.ProblemDetails;
            problem.Status.Should().Be(TrainingHttpStatus.For(code), code.Value);
        }

        TrainingProblems.Table[TrainingErrorCode.ValidationFailed].Status.Should().Be(StatusCodes.Status400BadRequest);
        TrainingProblems.Table[TrainingErrorCode.JobConflict].Status.Should().Be(StatusCodes.Status409Conflict);
        TrainingProblems.Table[TrainingErrorCode.RunNotFound].Status.Should().Be(StatusCodes.Status404NotFound);
        TrainingProblems.Table[TrainingErrorCode.ExecutorUnavailable].Status.Should().Be(StatusCodes.Status503ServiceUnavailable);
        TrainingProblems.Table[TrainingErrorCode.Forbidden].Status.Should().Be(StatusCodes.Status403Forbidden);
    }

    [Fact]
    public void An_executor_s_own_code_is_a_502_and_paths_in_messages_are_redacted()
    {
        var result = TrainingProblems.For(new TrainingException(new TrainingErrorCode("DiskQuota"), "The run directory '/tmp/runs/job-1' is over quota; C:\\runs\\job-1 too."));

        var problem = result.Should().BeOfType<ProblemHttpResult>().Subject.ProblemDetails;
        problem.Status.Should().Be(StatusCodes.Status502BadGateway);
        problem.Type.Should().Be(TrainingProblems.UnknownCodeType);
        problem.Detail.Should().Be("The run directory '<path>' is over quota; <path> too.");
    }
}
