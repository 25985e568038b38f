using Microsoft.Extensions.Time.Testing;

namespace VisionPlatform.Training.Tests.Monitoring;

public sealed class TrainingEventHubTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    private static TrainingRun Run(string id = "job-1") => new("subprocess", id, id + "-r");

    private static TrainingRunStatus Status(TrainingRun run, TrainingPhase phase, string reason = "R", int attempt = 1) =>
        new() { Run = run, Phase = phase, Reason = reason, Attempt = attempt };

    [Fact]
    public async Task Same_state_twice_is_published_once_and_sequences_increase_by_one()
    {
        var hub = new TrainingEventHub(_time);
        var run = Run();
        await using var events = hub.SubscribeAsync(new TrainingEventSubscription { IncludeCurrentState = false }).GetAsyncEnumerator();
        var first = events.MoveNextAsync();

        hub.PublishStatus(Status(run, TrainingPhase.Pending));
        hub.PublishStatus(Status(run, TrainingPhase.Pending));
        hub.PublishStatus(Status(run, TrainingPhase.Running));
        hub.PublishStatus(Status(run, TrainingPhase.Running) with { Message = "newer details, same phase" });
        hub.PublishStatus(Status(run, TrainingPhase.Pending, "Starting")); // same attempt: a running run does not go back
        hub.PublishStatus(Status(run, TrainingPhase.Succeeded));
        hub.PublishStatus(Status(run, TrainingPhase.Running)); // stale: a terminal run never goes back

        (await first.AsTask().WaitAsync(Patience)).Should().BeTrue();
        var received = new List<TrainingPhaseChangedEvent> { (TrainingPhaseChangedEvent)events.Current };
        while (received.Count < 3)
        {
            (await events.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().BeTrue();
            received.Add((TrainingPhaseChangedEvent)events.Current);
        }

        received.Select(e => e.Status.Phase).Should().Equal(TrainingPhase.Pending, TrainingPhase.Running, TrainingPhase.Succeeded);
        received.Select(e => e.Sequence).Should().Equal(1, 2, 3);
        received.Select(e => e.PreviousPhase).Should().Equal(null, TrainingPhase.Pending, TrainingPhase.Running);
        hub.TryGetStatus("job-1", out var latest).Should().BeTrue();
        latest!.Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Fact]
    public async Task A_queued_run_whose_position_moves_is_published_each_time_but_other_message_changes_are_not()
    {
        var hub = new TrainingEventHub(_time);
        var run = Run();
        await using var events = hub.SubscribeAsync(new TrainingEventSubscription { IncludeCurrentState = false }).GetAsyncEnumerator();
        var first = events.MoveNextAsync();

        hub.PublishStatus(Status(run, TrainingPhase.Pending, TrainingStatusReasons.Queued) with { Message = "quota; position 3 in queue team-a" });
        hub.PublishStatus(Status(run, TrainingPhase.Pending, TrainingStatusReasons.Queued) with { Message = "quota; position 3 in queue team-a" });
        hub.PublishStatus(Status(run, TrainingPhase.Pending, TrainingStatusReasons.Queued) with { Message = "quota; position 1 in queue team-a" });
        hub.PublishStatus(Status(run, TrainingPhase.Running, "Running") with { Message = "epoch 1" });
        hub.PublishStatus(Status(run, TrainingPhase.Running, "Running") with { Message = "epoch 2" });
        hub.PublishStatus(Status(run, TrainingPhase.Succeeded, "Completed"));

        (await first.AsTask().WaitAsync(Patience)).Should().BeTrue();
        var received = new List<TrainingPhaseChangedEvent> { (TrainingPhaseChangedEvent)events.Current };
        while (received.Count < 4)
        {
            (await events.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().BeTrue();
            received.Add((TrainingPhaseChangedEvent)events.Current);
        }

        received.Select(e => e.Status.Message).Should().Equal(
            "quota; position 3 in queue team-a", "quota; position 1 in queue team-a", "epoch 1", null);
        received.Select(e => e.Sequence).Should().Equal(1, 2, 3, 4);
    }

    [Fact]
    public async Task A_retry_is_a_new_attempt_and_goes_back_to_pending()
    {
        var hub = new TrainingEventHub(_time);
        var run = Run();
        hub.PublishStatus(Status(run, TrainingPhase.Running));
        hub.PublishStatus(Status(run, TrainingPhase.Pending, "Starting", attempt: 2));
        hub.TryGetStatus(run.JobId, out var status).Should().BeTrue();
        status!.Phase.Should().Be(TrainingPhase.Pending);
        status.Attempt.Should().Be(2);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_new_subscriber_starts_from_the_current_state_without_duplicates()
    {
        var hub = new TrainingEventHub(_time);
        hub.PublishStatus(Status(Run("a"), TrainingPhase.Running));
        hub.PublishStatus(Status(Run("b"), TrainingPhase.Failed));

        await using var events = hub.SubscribeAsync().GetAsyncEnumerator();
        (await events.MoveNextAsync()).Should().BeTrue();
        var snapshot = (TrainingPhaseChangedEvent)events.Current;
        snapshot.JobId.Should().Be("a", "all-runs subscribers start from the live runs only");

        hub.PublishStatus(Status(Run("a"), TrainingPhase.Running)); // same state: nothing
        hub.PublishProgress(Run("a"), new TrainingProgress { Epoch = 1, TotalEpochs = 4 });
        (await events.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().BeTrue();
        var progress = events.Current.Should().BeOfType<TrainingProgressEvent>().Subject;
        progress.Sequence.Should().Be(snapshot.Sequence + 1);
        progress.Progress.Percent.Should().Be(25);
    }

    [Fact]
    public async Task An_upload_event_is_numbered_with_the_run_delivered_without_opt_in_and_not_part_of_the_current_state()
    {
        var hub = new TrainingEventHub(_time);
        var run = Run();
        var pending = new ArtifactUploadStatus { State = ArtifactUploadState.Pending };
        var uploaded = new ArtifactUploadStatus { State = ArtifactUploadState.Uploaded, Message = "Uploaded 3 files", Attempts = 1, FinishedAt = _time.GetUtcNow() };
        hub.PublishStatus(Status(run, TrainingPhase.Running) with { ArtifactUpload = pending });
        await using var events = hub.SubscribeAsync(new TrainingEventSubscription { JobId = run.JobId, IncludeProgress = false }).GetAsyncEnumerator();
        (await events.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().BeTrue();
        events.Current.Should().BeOfType<TrainingPhaseChangedEvent>().Which.Sequence.Should().Be(1);

        hub.PublishStatus(Status(run, TrainingPhase.Succeeded) with { ArtifactUpload = pending });
        hub.PublishArtifactUpload(run, uploaded);

        (await events.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().BeTrue();
        events.Current.Should().BeOfType<TrainingPhaseChangedEvent>().Which.Sequence.Should().Be(2);
        (await events.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().BeTrue();
        var upload = events.Current.Should().BeOfType<TrainingArtifactUploadEvent>().Which;
        upload.Sequence.Should().Be(3);
        upload.Run.Should().Be(run);
        upload.Upload.Should().Be(uploaded);
        hub.TryGetStatus(run.JobId, out var latest).Should().BeTrue();
        latest!.ArtifactUpload.Should().Be(uploaded, "the hub's copy of the status shows the final upload too");

        // A new subscriber starts from the phase snapshot (numbered after the upload event), never with a replayed upload event.
        await using var late = hub.SubscribeAsync(new TrainingEventSubscription { JobId = run.JobId }).GetAsyncEnumerator();
        (await late.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().BeTrue();
        var snapshot = late.Current.Should().BeOfType<TrainingPhaseChangedEvent>().Which;
        snapshot.Sequence.Should().Be(3);
        snapshot.Status.ArtifactUpload.Should().Be(uploaded);
        var more = late.MoveNextAsync().AsTask();
        (await Task.WhenAny(more, Task.Delay(TimeSpan.FromMilliseconds(300)))).Should().NotBeSameAs(more, "nothing but the snapshot is replayed");
        hub.PublishStatus(Status(Run("other"), TrainingPhase.Running));
        hub.PublishArtifactUpload(run, uploaded with { Attempts = 2 });
        (await more.WaitAsync(Patience)).Should().BeTrue();
        late.Current.Should().BeOfType<TrainingArtifactUploadEvent>().Which.Sequence.Should().Be(4);
    }

    [Fact]
    public void An_upload_event_round_trips_through_json_with_its_type_discriminator()
    {
        var original = new TrainingArtifactUploadEvent
        {
            Timestamp = _time.GetUtcNow(),
            Run = Run("job-json"),
            Sequence = 7,
            Upload = new ArtifactUploadStatus
            {
                State = ArtifactUploadState.Failed,
                Message = "The upload failed after 2 attempt(s): storage down",
                Attempts = 2,
                FinishedAt = _time.GetUtcNow(),
            },
        };
        var options = new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)
        {
            Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        };

        var json = System.Text.Json.JsonSerializer.Serialize<TrainingJobEvent>(original, options);
        using var document = System.Text.Json.JsonDocument.Parse(json);
        document.RootElement.GetProperty("type").GetString().Should().Be("artifacts");
        document.RootElement.GetProperty("jobId").GetString().Should().Be("job-json");
        document.RootElement.GetProperty("upload").GetProperty("state").GetString().Should().Be("Failed");

        var back = System.Text.Json.JsonSerializer.Deserialize<TrainingJobEvent>(json, options);
        back.Should().BeOfType<TrainingArtifactUploadEvent>().Which.Should().Be(original);
    }

    [Fact]
    public async Task A_slow_subscriber_gets_a_gap_marker_where_its_oldest_events_were_dropped()
    {
        var hub = new TrainingEventHub(_time);
        var run = Run();
        await using var slow = hub.SubscribeAsync(new TrainingEventSubscription { IncludeCurrentState = false, IncludeLogs = true, BufferCapacity = 16 }).GetAsyncEnumerator();
        await using var fast = hub.SubscribeAsync(new TrainingEventSubscription { IncludeCurrentState = false, IncludeLogs = true, BufferCapacity = 100 }).GetAsyncEnumerator();
        var slowFirst = slow.MoveNextAsync(); // registers the subscriber (the first MoveNextAsync starts it)
        var fastFirst = fast.MoveNextAsync();

        hub.PublishLog(run, new TrainingLogLine("line 1"));
        (await slowFirst.AsTask().WaitAsync(Patience)).Should().BeTrue();
        (await fastFirst.AsTask().WaitAsync(Patience)).Should().BeTrue();
        for (var i = 2; i <= 40; i++)
        {
            hub.PublishLog(run, new TrainingLogLine($"line {i}"));
        }

        (await slow.MoveNextAsync()).Should().BeTrue();
        slow.Current.Should().BeOfType<TrainingEventsDroppedEvent>().Which.Count.Should().Be(39 - 16);
        (await slow.MoveNextAsync()).Should().BeTrue();
        slow.Current.Should().BeOfType<TrainingLogEvent>().Which.Line.Text.Should().Be("line 25");

        var fastLines = new List<string> { ((TrainingLogEvent)fast.Current).Line.Text };
        while (fastLines.Count < 40 && await fast.MoveNextAsync())
        {
            fastLines.Add(((TrainingLogEvent)fast.Current).Line.Text);
        }

        fastLines.Should().Equal(Enumerable.Range(1, 40).Select(i => $"line {i}"), "a slow subscriber does not affect others");
    }

    [Fact]
    public async Task Disconnect_policy_ends_the_subscription_with_a_clear_error()
    {
        var hub = new TrainingEventHub(_time);
        await using var events = hub.SubscribeAsync(new TrainingEventSubscription
        {
            IncludeCurrentState = false, IncludeLogs = true, BufferCapacity = 16, OverflowPolicy = TrainingEventOverflowPolicy.Disconnect,
        }).GetAsyncEnumerator();
        var first = events.MoveNextAsync();
        hub.PublishLog(Run(), new TrainingLogLine("0"));
        (await first.AsTask().WaitAsync(Patience)).Should().BeTrue();
        for (var i = 0; i < 20; i++)
        {
            hub.PublishLog(Run(), new TrainingLogLine($"{i}"));
        }

        var read = async () => await events.MoveNextAsync();
        (await read.Should().ThrowAsync<TrainingException>()).Which.Message.Should().Contain("BufferCapacity").And.Contain("Disconnect");
    }

    [Fact]
    public async Task Bad_subscription_settings_are_rejected_naming_the_field()
    {
        var hub = new TrainingEventHub(_time);
        var subscribe = () => hub.SubscribeAsync(new TrainingEventSubscription { BufferCapacity = 2 });
        subscribe.Should().Throw<TrainingValidationException>().WithMessage("*BufferCapacity*between 16 and 1048576*");
        await Task.CompletedTask;
    }

    [Fact]
    public async Task WaitForCompletion_returns_the_terminal_status_or_times_out_naming_the_run()
    {
        var hub = new TrainingEventHub(TimeProvider.System);
        var run = Run();
        hub.PublishStatus(Status(run, TrainingPhase.Running));
        var wait = hub.WaitForCompletionAsync(run, Patience);
        hub.PublishStatus(Status(run, TrainingPhase.Succeeded) with { ExitCode = 0 });
        (await wait).Phase.Should().Be(TrainingPhase.Succeeded);

        var other = Run("job-2");
        hub.PublishStatus(Status(other, TrainingPhase.Running));
        var timeout = () => hub.WaitForCompletionAsync(other, TimeSpan.FromMilliseconds(200));
        (await timeout.Should().ThrowAsync<TimeoutException>()).Which.Message.Should().Contain("job-2").And.Contain("Running");
    }

    [Theory]
    [InlineData("VP_PROGRESS {\"epoch\": 3, \"total_epochs\": 10, \"step\": 300, \"metrics\": {\"loss\": 0.5, \"note\": \"x\"}}", 3, 10, 300L, 1)]
    [InlineData("VP_PROGRESS {\"epoch\": 0}", 0, null, null, 0)]
    public void Progress_lines_are_parsed(string line, int epoch, int? total, long? step, int metricCount)
    {
        TrainingProgressProtocol.TryParse(line, null, out var progress).Should().BeTrue();
        progress!.Epoch.Should().Be(epoch);
        progress.TotalEpochs.Should().Be(total);
        progress.Step.Should().Be(step);
        progress.Metrics.Should().HaveCount(metricCount);
    }

    [Theory]
    [InlineData("epoch 3/10 loss=0.5")]
    [InlineData("VP_PROGRESS not json")]
    [InlineData("VP_PROGRESS {\"total_epochs\": 10}")]
    [InlineData("VP_PROGRESS {\"epoch\": -1}")]
    [InlineData("VP_PROGRESS [1]")]
    public void Other_lines_are_not_progress(string line) =>
        TrainingProgressProtocol.TryParse(line, null, out _).Should().BeFalse();

    [Fact]
    public void Format_and_parse_round_trip_and_estimate_time_left()
    {
        var line = TrainingProgressProtocol.Format(2, 8, 200, new Dictionary<string, double> { ["mAP50"] = 0.61 });
        var started = _time.GetUtcNow();
        TrainingProgressProtocol.TryParse(line, started.AddMinutes(10), out var progress).Should().BeTrue();
        progress!.Metrics["mAP50"].Should().Be(0.61);
        var estimated = progress.WithEstimate(started, started.AddMinutes(10));
        estimated.EstimatedTimeRemaining.Should().Be(TimeSpan.FromMinutes(30), "5 minutes per epoch, 6 epochs to go");
    }

    [Fact]
    public void Cost_is_hours_times_requested_resources_priced_per_executor()
    {
        var options = new TrainingCostOptions { Currency = "USD", Default = new TrainingCostRates { GpuHour = 2.5m, CpuHour = 0.05m } };
        options.Executors["subprocess"] = new TrainingCostRates { GpuHour = 0.5m };
        var calculator = new TrainingCostCalculator(() => options);
        var start = _time.GetUtcNow();

        var cloud = calculator.Calculate("kubernetes", 2, "4", start, start.AddMinutes(90))!;
        cloud.GpuHours.Should().Be(3);
        cloud.CpuHours.Should().Be(6);
        cloud.Amount.Should().Be(7.8m);
        cloud.Currency.Should().Be("USD");

        var local = calculator.Calculate("subprocess", 1, null, start, start.AddHours(2))!;
        local.CpuHours.Should().Be(2, "a run without a CPU request counts DefaultCpuCores");
        local.Amount.Should().Be(1.0m);

        calculator.Calculate("kubernetes", 1, "500m", start, finishedAt: null).Should().BeNull("a run that has not finished has no cost yet");
        TrainingCostCalculator.Unpriced.Calculate("kubernetes", 1, "500m", start, start.AddHours(1))!.Amount.Should().BeNull();
    }
}
