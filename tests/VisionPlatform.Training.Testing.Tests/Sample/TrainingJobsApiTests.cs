using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace VisionPlatform.Training.Testing.Tests.Sample;

// The same backend, tested through real HTTP: the app is composed exactly as in production (AddTrainingJobsApi with
// its configuration), then the test swaps the real subprocess executor for the in-memory one under the same name.
public sealed class TrainingJobsApiTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
    private WebApplication _app = null!;
    private HttpClient _http = null!;
    private InMemoryTrainingExecutor _executor = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Training:DefaultExecutor"] = "subprocess",   // the production setting stays as it is
            ["Training:Subprocess:Script"] = "/opt/trainer/train.py",
        });
        builder.Services.AddTrainingJobsApi(builder.Configuration);

        // The test's only changes: a controllable clock and the in-memory executor standing in for "subprocess".
        builder.Services.AddSingleton<TimeProvider>(_clock);
        builder.Services.AddTrainingExecutors(o => o.DefaultExecutor = TrainingExecutorNames.Subprocess).AddInMemoryExecutor(TrainingExecutorNames.Subprocess);

        _app = builder.Build();
        _app.MapTrainingJobs();
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
        _executor = _app.Services.GetInMemoryExecutor(TrainingExecutorNames.Subprocess);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static StartTrainingRequest Request(string jobId = "job-42", int epochs = 5) =>
        new(jobId, "project-7", "ultralytics", "object_detection", "yolo11n", "datasets/coco8", "yolo", epochs);

    private async Task<string> StartAsync(StartTrainingRequest request)
    {
        using var response = await _http.PostAsJsonAsync("/training-jobs", request);
        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var handle = body.GetProperty("handle").GetString()!;
        response.Headers.Location!.OriginalString.Should().Be($"/training-jobs/{handle}");
        return handle;
    }

    [Fact]
    public async Task A_client_starts_a_job_follows_it_and_reads_its_log()
    {
        var handle = await StartAsync(Request());
        var run = TrainingRun.Parse(handle);

        (await _http.GetFromJsonAsync<TrainingJobDto>($"/training-jobs/{handle}"))!.State.Should().Be("queued");
        _executor.SetRunning(run);
        _executor.AppendLog(run, "epoch 1/5", "epoch 5/5", "mAP50 0.61");
        (await _http.GetFromJsonAsync<TrainingJobDto>($"/training-jobs/{handle}"))!.State.Should().Be("running");
        _clock.Advance(TimeSpan.FromMinutes(12));
        _executor.Complete(run, 0);

        var done = await _http.GetFromJsonAsync<TrainingJobDto>($"/training-jobs/{handle}");
        done.Should().BeEquivalentTo(new { JobId = "job-42", State = "succeeded", ExitCode = 0, FinishedAt = _clock.Start.AddMinutes(12) });
        (await _http.GetFromJsonAsync<string[]>($"/training-job-logs/{handle}?tail=2")).Should().Equal("epoch 5/5", "mAP50 0.61");
        run.ExecutorName.Should().Be("subprocess", "the handle is what production would store");
        _executor.StartedJobs.Should().ContainSingle().Which.Labels.Should().Contain("project-id", "project-7");
    }

    [Fact]
    public async Task A_bad_request_gets_a_validation_problem_naming_each_field()
    {
        using var response = await _http.PostAsJsonAsync("/training-jobs", Request(epochs: 0) with { ModelName = " " });

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var errors = problem.GetProperty("errors");
        errors.GetProperty("Epochs")[0].GetString().Should().Contain("between 1 and 100000");
        errors.TryGetProperty("ModelName", out _).Should().BeTrue();
        _executor.StartedJobs.Should().BeEmpty();
    }

    [Fact]
    public async Task A_retried_post_is_harmless_and_a_changed_one_is_a_conflict()
    {
        var first = await StartAsync(Request());
        var retried = await StartAsync(Request());
        using var changed = await _http.PostAsJsonAsync("/training-jobs", Request(epochs: 50));

        retried.Should().Be(first);
        changed.StatusCode.Should().Be(HttpStatusCode.Conflict);
        _executor.StartedJobs.Should().ContainSingle();
    }

    [Fact]
    public async Task Deleting_a_job_cancels_it()
    {
        var handle = await StartAsync(Request());
        _executor.SetRunning(TrainingRun.Parse(handle));

        using var response = await _http.DeleteAsync($"/training-jobs/{handle}");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadFromJsonAsync<TrainingJobDto>())!.State.Should().Be("cancelled");
        (await _executor.GetStatusAsync(TrainingRun.Parse(handle))).Phase.Should().Be(TrainingPhase.Stopped);
    }

    [Fact]
    public async Task Unknown_jobs_are_404()
    {
        using var response = await _http.GetAsync("/training-jobs/run1/subprocess/run-000009/ghost");
        using var logs = await _http.GetAsync("/training-job-logs/run1/subprocess/run-000009/ghost");

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        logs.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }
}
