using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace VisionPlatform.Training.Backend.Tests;

// The sample as shipped: real trainer processes (samples/trainer/train.py) started, read and stopped over real HTTP.
public sealed class SubprocessEndpointTests : IAsyncLifetime
{
    private BackendHost _host = null!;

    private HttpClient Http => _host.Http;

    public async Task InitializeAsync() => _host = await BackendHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static object Request(string jobId, int epochs, double epochSeconds) => new
    {
        jobId,
        framework = "ultralytics",
        taskType = "object_detection",
        model = "yolo11n",
        dataset = "coco8",
        datasetFormat = "yolo",
        epochs,
        advancedConfig = new { epoch_seconds = epochSeconds },
    };

    private async Task StartAsync(string jobId, int epochs, double epochSeconds)
    {
        using var response = await Http.PostAsJsonAsync("/runs", Request(jobId, epochs, epochSeconds));
        response.StatusCode.Should().Be(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("executor").GetString().Should().Be("subprocess");
    }

    private async Task<JsonElement> WaitForPhaseAsync(string jobId, params string[] phases)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var status = await Http.GetFromJsonAsync<JsonElement>($"/runs/{jobId}");
            if (phases.Contains(status.GetProperty("phase").GetString()))
            {
                return status;
            }

            DateTime.UtcNow.Should().BeBefore(deadline, $"run {jobId} should reach {string.Join(" or ", phases)}; last status {status}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_real_run_succeeds_and_its_log_has_the_progress_lines()
    {
        await StartAsync("real-1", epochs: 2, epochSeconds: 0.2);

        var done = await WaitForPhaseAsync("real-1", "Succeeded", "Failed", "Lost");

        done.GetProperty("phase").GetString().Should().Be("Succeeded", done.ToString());
        done.GetProperty("exitCode").GetInt32().Should().Be(0);
        var log = await Http.GetStringAsync("/runs/real-1/logs");
        log.Should().Contain("VP_PROGRESS {\"epoch\": 2, \"total_epochs\": 2");
        (await Http.GetStringAsync("/runs/real-1/logs?tail=1")).Should().StartWith("training finished");
        (await Http.GetFromJsonAsync<JsonElement>("/runs")).EnumerateArray().Select(r => r.GetProperty("jobId").GetString()).Should().Contain("real-1");
    }

    [Fact]
    public async Task A_real_run_streams_its_phases_and_progress_in_order_and_ends_with_its_cost()
    {
        // Opened before the start, so the stream sees the run's whole life.
        await using var all = await SseConnection.OpenAsync(Http, "/events");
        await StartAsync("real-sse", epochs: 2, epochSeconds: 0.5);
        await using var one = await SseConnection.OpenAsync(Http, "/runs/real-sse/events");

        await one.Completion.WaitAsync(TimeSpan.FromSeconds(90));
        var frames = (await all.WaitForAsync(f => f.Any(IsTerminalPhase))).Where(f => f.Id!.StartsWith("real-sse:", StringComparison.Ordinal)).ToArray();

        var story = frames.Select(f => f.Event == "phase"
            ? f.Json.GetProperty("status").GetProperty("phase").GetString()
            : "epoch " + f.Json.GetProperty("progress").GetProperty("epoch").GetInt32()).ToArray();
        story.Should().Equal(["Pending", "Running", "epoch 1", "epoch 2", "Succeeded"], "frames: " + string.Join(Environment.NewLine, frames.Select(f => f.ToString())));
        frames.Select(f => long.Parse(f.Id!.Split(':')[1])).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        var final = frames[^1].Json.GetProperty("status");
        final.GetProperty("cost").GetProperty("cpuHours").GetDouble().Should().BePositive();
        final.GetProperty("cost").GetProperty("currency").GetString().Should().Be("USD");

        // The single-run stream: current state first, the same events after it, and it ended after the terminal phase.
        one.Frames.Should().NotBeEmpty();
        one.Frames[^1].Should().Match<SseFrame>(f => IsTerminalPhase(f));
        one.Frames.Select(f => f.Id).Should().OnlyHaveUniqueItems();

        var status = await Http.GetFromJsonAsync<JsonElement>("/runs/real-sse");
        status.GetProperty("progress").GetProperty("percent").GetDouble().Should().Be(100);
        status.GetProperty("progress").GetProperty("metrics").GetProperty("loss").GetDouble().Should().BePositive();
        status.GetProperty("cost").GetProperty("runningHours").GetDouble().Should().BePositive();
    }

    private static bool IsTerminalPhase(SseFrame frame) =>
        frame.Event == "phase" && frame.Json.GetProperty("status").GetProperty("phase").GetString() is "Succeeded" or "Failed" or "Stopped" or "Lost";

    [Fact]
    public async Task Stopping_a_real_run_ends_it_as_stopped()
    {
        await StartAsync("real-long", epochs: 100, epochSeconds: 2);
        await WaitForPhaseAsync("real-long", "Running");

        using var stop = await Http.PostAsync("/runs/real-long/stop?graceSeconds=2", null);

        stop.StatusCode.Should().Be(HttpStatusCode.OK);
        var stopped = await WaitForPhaseAsync("real-long", "Stopped", "Failed", "Succeeded", "Lost");
        stopped.GetProperty("phase").GetString().Should().Be("Stopped", stopped.ToString());
        stopped.GetProperty("reason").GetString().Should().Be(TrainingStatusReasons.StoppedByUser);
    }
}
