using Amazon.S3.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Subprocess;

namespace VisionPlatform.Training.Storage.Tests;

/// <summary>
/// The subprocess executor uploads finished runs (real train.py processes) to the real s3rver, in the layout a
/// Kubernetes trainer writes.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class SubprocessUploadTests(S3rverFixture server) : IAsyncLifetime
{
    private const int AttemptFailedEvent = 1082;
    private const int UploadFailedEvent = 1083;
    private readonly SubprocessRuns _runs = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _runs.DisposeAsync();

    [Fact]
    public async Task A_finished_run_leaves_checkpoints_metrics_and_log_under_its_prefix_with_matching_hashes_and_the_Kubernetes_layout()
    {
        var storage = server.Options();
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        services.AddTrainingExecutors(_runs.Configure).AddSubprocess().AddArtifactStorage(o =>
        {
            o.ServiceUrl = storage.ServiceUrl;
            o.Bucket = storage.Bucket;
            o.AccessKeyId = storage.AccessKeyId;
            o.SecretAccessKey = storage.SecretAccessKey;
            o.Prefix = storage.Prefix;
            o.RetryBaseDelay = storage.RetryBaseDelay;
        });
        await using var provider = services.BuildServiceProvider();
        var executor = provider.GetRequiredService<SubprocessTrainingExecutor>();
        _runs.Track(executor);
        var store = provider.GetRequiredService<IArtifactStore>();

        var run = await executor.StartAsync(SubprocessRuns.Job("job-upload-1", epochs: 2));
        var upload = await executor.WaitForArtifactUploadAsync(run).WaitAsync(TimeSpan.FromSeconds(120));
        var status = await executor.GetStatusAsync(run);

        status.Phase.Should().Be(TrainingPhase.Succeeded, "the upload does not change the run's phase");
        upload!.State.Should().Be(ArtifactUploadState.Uploaded, upload.Message);
        upload.Attempts.Should().Be(1);
        upload.FinishedAt.Should().NotBeNull();
        upload.Message.Should().Contain($"s3://{S3rverFixture.Bucket}/{store.GetRunPrefix("job-upload-1")}");
        status.ArtifactUpload.Should().Be(upload, "the status shows the same upload state");

        // Every local file is in the bucket with the same bytes, read back with a plain SDK client.
        var prefix = store.GetRunPrefix("job-upload-1");
        prefix.Should().Be($"{storage.Prefix}/job-upload-1/");
        var local = SubprocessRuns.FilesUnder(_runs.OutputDirectory(run));
        local.Keys.Should().Contain(["checkpoints/checkpoint_epoch_1.json", "checkpoints/checkpoint_epoch_2.json", "weights/last.json", "weights/best.json", "metrics.json", "run.json"]);
        local[ArtifactLayout.TrainLogFile] = _runs.LogFile(run);
        foreach (var (relative, path) in local)
        {
            (await StoredSha256Async(prefix + relative)).Should().Be(Hashes.OfFile(path), $"{relative} must be stored byte for byte");
        }

        var listed = await ListAsync(store, "job-upload-1");
        listed.Should().BeEquivalentTo(local.Keys.Append(ArtifactLayout.RunManifestFile));

        // A Kubernetes trainer uploads the same output directory (and its log) itself: same relative keys, and only the
        // SDK's manifest in addition.
        await KubernetesStyleUploadAsync(store.GetRunPrefix("job-upload-1-k8s"), _runs.OutputDirectory(run), _runs.LogFile(run));
        var kubernetes = await ListAsync(store, "job-upload-1-k8s");
        listed.Except([ArtifactLayout.RunManifestFile]).Should().BeEquivalentTo(kubernetes);

        logs.Entries.Should().Contain(e => e.Id.Id == 1081 && e.Text.Contains("job-upload-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failed_run_has_its_checkpoints_and_log_uploaded_too()
    {
        using var store = new S3ArtifactStore(server.Options());
        var executor = _runs.CreateExecutor(_runs.NewOptions(), store);

        var run = await executor.StartAsync(SubprocessRuns.Job("job-upload-failed", epochs: 3, new { fail_at_epoch = 2 }));
        var upload = await executor.WaitForArtifactUploadAsync(run).WaitAsync(TimeSpan.FromSeconds(120));
        var status = await executor.GetStatusAsync(run);

        status.Phase.Should().Be(TrainingPhase.Failed);
        upload!.State.Should().Be(ArtifactUploadState.Uploaded, upload.Message);
        var listed = await ListAsync(store, "job-upload-failed");
        listed.Should().Contain(["checkpoints/checkpoint_epoch_1.json", "weights/last.json", ArtifactLayout.TrainLogFile, ArtifactLayout.RunManifestFile]);
        listed.Should().NotContain("metrics.json", "the trainer failed before writing final metrics");

        using var log = new MemoryStream();
        await store.DownloadAsync("job-upload-failed", ArtifactLayout.TrainLogFile, log);
        System.Text.Encoding.UTF8.GetString(log.ToArray()).Should().Contain("simulated training failure at epoch 2");
    }

    [Fact]
    public async Task A_stopped_run_keeps_its_checkpoints_in_the_bucket_and_large_files_go_up_in_parts()
    {
        var storage = server.Options();
        storage.MultipartThresholdBytes = 5 * 1024 * 1024;
        storage.MultipartPartSizeBytes = 5 * 1024 * 1024;
        var storeLogs = new CapturingLoggerProvider();
        using var store = new S3ArtifactStore(storage, storeLogs.CreateLogger<S3ArtifactStore>());
        var executor = _runs.CreateExecutor(_runs.NewOptions(), store);
        var run = await executor.StartAsync(SubprocessRuns.Job("job-upload-stopped", epochs: 1000, new { epoch_seconds = 0.2 }));
        var running = await SubprocessRuns.WaitForAsync(executor, run, _ => File.Exists(Path.Combine(_runs.OutputDirectory(run), "checkpoints", "checkpoint_epoch_1.json")));
        running.ArtifactUpload!.State.Should().Be(ArtifactUploadState.Pending, "a running run is uploaded when it ends");

        // A real trainer's weights are large: write 12 MiB into the output directory as the trainer would.
        var weights = Path.Combine(_runs.OutputDirectory(run), "weights", "last.pt");
        Directory.CreateDirectory(Path.GetDirectoryName(weights)!);
        await File.WriteAllBytesAsync(weights, Hashes.RandomBytes(12 * 1024 * 1024 + 17, seed: 5));

        var stopped = await executor.StopAsync(run);
        var upload = await executor.WaitForArtifactUploadAsync(run).WaitAsync(TimeSpan.FromSeconds(120));

        stopped.Phase.Should().Be(TrainingPhase.Stopped);
        upload!.State.Should().Be(ArtifactUploadState.Uploaded, upload.Message);
        (await ListAsync(store, "job-upload-stopped")).Should().Contain(["checkpoints/checkpoint_epoch_1.json", "weights/last.json", "weights/last.pt", ArtifactLayout.TrainLogFile]);
        (await StoredSha256Async(store.GetRunPrefix("job-upload-stopped") + "weights/last.pt")).Should().Be(Hashes.OfFile(weights));
        storeLogs.Entries.Should().Contain(
            e => e.Id.Id == 4101 && e.Text.Contains("weights/last.pt", StringComparison.Ordinal) && e.Text.Contains("3 parts", StringComparison.Ordinal),
            "12 MiB in 5 MiB parts is a three-part multipart upload");
    }

    [Fact]
    public async Task Storage_that_is_down_fails_the_upload_with_a_clear_reason_in_status_and_nothing_else()
    {
        const string secret = "do-not-leak-this-secret-7f3a";
        var storage = server.Options($"http://127.0.0.1:{SubprocessRuns.ClosedPort()}");
        storage.SecretAccessKey = secret;
        storage.MaxRetryAttempts = 1;
        using var store = new S3ArtifactStore(storage);
        var options = _runs.NewOptions();
        options.Subprocess.UploadAttempts = 2;
        var logs = new CapturingLoggerProvider();
        var executor = _runs.CreateExecutor(options, store, logs.CreateLogger<SubprocessTrainingExecutor>());

        var run = await executor.StartAsync(SubprocessRuns.Job("job-storage-down", epochs: 1));
        var upload = await executor.WaitForArtifactUploadAsync(run).WaitAsync(TimeSpan.FromSeconds(120));
        var status = await executor.GetStatusAsync(run);

        status.Phase.Should().Be(TrainingPhase.Succeeded, "the training itself worked");
        upload!.State.Should().Be(ArtifactUploadState.Failed);
        upload.Attempts.Should().Be(2);
        upload.Message.Should().Contain("after 2 attempt(s)").And.Contain($"bucket '{S3rverFixture.Bucket}'").And.NotContain(secret);
        status.ArtifactUpload.Should().Be(upload);
        logs.Entries.Where(e => e.Id.Id == AttemptFailedEvent).Should().ContainSingle().Which.Level.Should().Be(LogLevel.Warning);
        logs.Entries.Where(e => e.Id.Id == UploadFailedEvent).Should().ContainSingle().Which.Level.Should().Be(LogLevel.Error);
        logs.AllText.Should().NotContain(secret);

        // The executor goes on working: the outputs stay local and the next run starts and ends normally.
        File.Exists(Path.Combine(_runs.OutputDirectory(run), "metrics.json")).Should().BeTrue();
        var next = await executor.StartAsync(SubprocessRuns.Job("job-storage-down-2", epochs: 1));
        (await SubprocessRuns.WaitForAsync(executor, next, s => s.IsTerminal)).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Theory]
    [InlineData(ArtifactUploadState.Uploaded)]
    [InlineData(ArtifactUploadState.Failed)]
    [InlineData(ArtifactUploadState.Skipped)]
    public async Task The_final_upload_state_is_logged_before_anyone_waiting_for_it_can_see_it(ArtifactUploadState expected)
    {
        var storage = expected == ArtifactUploadState.Failed ? server.Options($"http://127.0.0.1:{SubprocessRuns.ClosedPort()}") : server.Options();
        storage.MaxRetryAttempts = 0;
        using var store = new S3ArtifactStore(storage);
        var options = _runs.NewOptions();
        options.Subprocess.UploadAttempts = 1;
        options.Subprocess.MaxConcurrentRuns = 1;
        var logs = new CapturingLoggerProvider();
        var executor = _runs.CreateExecutor(options, store, logs.CreateLogger<SubprocessTrainingExecutor>());

        // What a caller of GetStatusAsync saw while each final upload line was being written.
        TrainingRun? watched = null;
        var seenWhileLogging = new System.Collections.Concurrent.ConcurrentQueue<(int Event, ArtifactUploadState? State)>();
        var jobId = $"job-order-{expected.ToString().ToLowerInvariant()}";
        logs.Writing = (id, text) =>
        {
            if ((id.Id is 1081 or 1083 or 1085) && text.Contains($"job {jobId}", StringComparison.Ordinal) && Volatile.Read(ref watched) is { } run)
            {
                seenWhileLogging.Enqueue((id.Id, executor.GetStatusAsync(run).GetAwaiter().GetResult().ArtifactUpload?.State));
            }
        };

        TrainingRun? busy = null;
        if (expected == ArtifactUploadState.Skipped)
        {
            // A run stopped while queued never starts its trainer: its upload is Skipped.
            busy = await executor.StartAsync(SubprocessRuns.Job("job-order-busy", epochs: 1000, new { epoch_seconds = 0.2 }));
            await SubprocessRuns.WaitForAsync(executor, busy, s => s.Phase == TrainingPhase.Running);
            Volatile.Write(ref watched, await executor.StartAsync(SubprocessRuns.Job(jobId, epochs: 1)));
            await executor.StopAsync(watched!);
        }
        else
        {
            Volatile.Write(ref watched, await executor.StartAsync(SubprocessRuns.Job(jobId, epochs: 1, new { epoch_seconds = 0.5 })));
        }

        var upload = await executor.WaitForArtifactUploadAsync(watched!).WaitAsync(TimeSpan.FromSeconds(120));

        upload!.State.Should().Be(expected, upload.Message);
        var finalEvent = expected switch
        {
            ArtifactUploadState.Uploaded => 1081,
            ArtifactUploadState.Failed => UploadFailedEvent,
            _ => 1085,
        };
        logs.Entries.Should().Contain(e => e.Id.Id == finalEvent && e.Text.Contains(jobId, StringComparison.Ordinal), "the line is written by the time the wait returns");
        seenWhileLogging.Should().ContainSingle().Which.Should().Be(
            (finalEvent, (ArtifactUploadState?)(expected == ArtifactUploadState.Skipped ? ArtifactUploadState.Pending : ArtifactUploadState.Uploading)),
            "the final state is published only after its log line is written");
        if (busy is not null)
        {
            await executor.StopAsync(busy, new TrainingStopOptions { GracePeriod = TimeSpan.Zero });
        }
    }

    [Fact]
    public async Task A_new_executor_resumes_an_upload_the_previous_one_did_not_finish()
    {
        // The first executor cannot reach storage and would wait ten minutes before its second attempt.
        var down = server.Options($"http://127.0.0.1:{SubprocessRuns.ClosedPort()}");
        down.MaxRetryAttempts = 0;
        using var downStore = new S3ArtifactStore(down);
        var slow = _runs.NewOptions();
        slow.Subprocess.UploadAttempts = 3;
        slow.Subprocess.UploadRetryDelay = TimeSpan.FromMinutes(10);
        var firstLogs = new CapturingLoggerProvider();
        var first = _runs.CreateExecutor(slow, downStore, firstLogs.CreateLogger<SubprocessTrainingExecutor>());
        var run = await first.StartAsync(SubprocessRuns.Job("job-upload-resumed", epochs: 1));
        var waiting = await SubprocessRuns.WaitForAsync(first, run, s => s.ArtifactUpload is { State: ArtifactUploadState.Pending, Attempts: 1 });
        waiting.ArtifactUpload!.Message.Should().Contain("Attempt 1 of 3 failed").And.Contain("Retrying in 00:10:00");

        // Shutting down cancels the wait at once and leaves the upload pending on disk.
        await first.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        firstLogs.Entries.Should().Contain(e => e.Id.Id == 1084, "the interruption is logged");

        var storage = server.Options(prefix: down.Prefix);
        using var store = new S3ArtifactStore(storage);
        var second = _runs.CreateExecutor(_runs.NewOptions(), store);
        var before = await second.GetStatusAsync(run);
        var upload = await second.WaitForArtifactUploadAsync(run).WaitAsync(TimeSpan.FromSeconds(120));

        before.ArtifactUpload!.IsFinal.Should().BeFalse();
        upload!.State.Should().Be(ArtifactUploadState.Uploaded, upload.Message);
        upload.Attempts.Should().Be(2, "one attempt by each executor");
        (await ListAsync(store, "job-upload-resumed")).Should().Contain(["metrics.json", "checkpoints/checkpoint_epoch_1.json", ArtifactLayout.TrainLogFile, ArtifactLayout.RunManifestFile]);
    }

    [Fact]
    public async Task After_a_crash_during_an_upload_or_a_failed_upload_a_new_executor_uploads_the_run()
    {
        // Two finished runs whose uploads failed against storage that was down.
        var down = server.Options($"http://127.0.0.1:{SubprocessRuns.ClosedPort()}");
        down.MaxRetryAttempts = 0;
        using var downStore = new S3ArtifactStore(down);
        var once = _runs.NewOptions();
        once.Subprocess.UploadAttempts = 1;
        var first = _runs.CreateExecutor(once, downStore);
        var crashed = await first.StartAsync(SubprocessRuns.Job("job-crashed-upload", epochs: 1));
        var failed = await first.StartAsync(SubprocessRuns.Job("job-failed-upload", epochs: 1));
        (await first.WaitForArtifactUploadAsync(crashed).WaitAsync(TimeSpan.FromSeconds(120)))!.State.Should().Be(ArtifactUploadState.Failed);
        (await first.WaitForArtifactUploadAsync(failed).WaitAsync(TimeSpan.FromSeconds(120)))!.State.Should().Be(ArtifactUploadState.Failed);
        await first.DisposeAsync();

        // Pretend the host died in the middle of the first one's upload: state.json still says Uploading.
        var statePath = Path.Combine(_runs.RunDirectory(crashed), "state.json");
        var state = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(statePath))!;
        state["artifactUpload"]!["state"] = "Uploading";
        state["artifactUpload"]!["finishedAt"] = null;
        await File.WriteAllTextAsync(statePath, state.ToJsonString());

        using var store = new S3ArtifactStore(server.Options(prefix: down.Prefix));
        var logs = new CapturingLoggerProvider();
        var second = _runs.CreateExecutor(_runs.NewOptions(), store, logs.CreateLogger<SubprocessTrainingExecutor>());
        var resumed = await second.WaitForArtifactUploadAsync(crashed).WaitAsync(TimeSpan.FromSeconds(120));
        var retried = await second.WaitForArtifactUploadAsync(failed).WaitAsync(TimeSpan.FromSeconds(120));

        resumed!.State.Should().Be(ArtifactUploadState.Uploaded, resumed.Message);
        retried!.State.Should().Be(ArtifactUploadState.Uploaded, retried.Message);
        retried.Attempts.Should().Be(2, "the failed attempt counts, and the new executor made one more");
        (await ListAsync(store, "job-crashed-upload")).Should().Contain(["metrics.json", ArtifactLayout.TrainLogFile, ArtifactLayout.RunManifestFile]);
        (await ListAsync(store, "job-failed-upload")).Should().Contain(["metrics.json", ArtifactLayout.TrainLogFile, ArtifactLayout.RunManifestFile]);
        logs.Entries.Count(e => e.Id.Id == 1081).Should().Be(2);
    }

    [Fact]
    public void Upload_options_are_validated_at_start_up_naming_the_key()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = TrainingExecutorNames.Subprocess;
            o.Subprocess.UploadAttempts = 0;
            o.Subprocess.UploadRetryDelay = TimeSpan.FromHours(1);
        }).AddSubprocess();
        using var provider = services.BuildServiceProvider();

        var read = () => provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<TrainingOptions>>().Value;

        read.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>()
            .Which.Message.Should().Contain("Training:Subprocess:UploadAttempts is 0: it must be between 1 and 20.")
            .And.Contain("Training:Subprocess:UploadRetryDelay is 01:00:00");
    }

    [Fact]
    public async Task A_run_stopped_while_queued_has_nothing_to_upload_and_is_Skipped()
    {
        using var store = new S3ArtifactStore(server.Options());
        var options = _runs.NewOptions();
        options.Subprocess.MaxConcurrentRuns = 1;
        var executor = _runs.CreateExecutor(options, store);
        var busy = await executor.StartAsync(SubprocessRuns.Job("job-busy", epochs: 1000, new { epoch_seconds = 0.2 }));
        await SubprocessRuns.WaitForAsync(executor, busy, s => s.Phase == TrainingPhase.Running);
        var queued = await executor.StartAsync(SubprocessRuns.Job("job-queued", epochs: 1));

        (await executor.StopAsync(queued)).Phase.Should().Be(TrainingPhase.Stopped);
        var upload = await executor.WaitForArtifactUploadAsync(queued).WaitAsync(TimeSpan.FromSeconds(60));

        upload!.State.Should().Be(ArtifactUploadState.Skipped);
        upload.Message.Should().Contain("never started");
        (await ListAsync(store, "job-queued")).Should().BeEmpty();
        await executor.StopAsync(busy, new TrainingStopOptions { GracePeriod = TimeSpan.Zero });
    }

    [Fact]
    public async Task With_uploads_switched_off_nothing_leaves_the_machine()
    {
        var storage = server.Options();
        using var store = new S3ArtifactStore(storage);
        var options = _runs.NewOptions();
        options.Subprocess.UploadArtifacts = false;
        var executor = _runs.CreateExecutor(options, store);

        var run = await executor.StartAsync(SubprocessRuns.Job("job-local-only", epochs: 1));
        var status = await SubprocessRuns.WaitForAsync(executor, run, s => s.IsTerminal);

        status.ArtifactUpload.Should().BeNull();
        (await executor.WaitForArtifactUploadAsync(run)).Should().BeNull();
        (await ListAsync(store, "job-local-only")).Should().BeEmpty();
    }

    private static async Task<List<string>> ListAsync(IArtifactStore store, string jobId)
    {
        var paths = new List<string>();
        await foreach (var artifact in store.ListRunArtifactsAsync(jobId))
        {
            paths.Add(artifact.RelativePath);
        }

        return paths;
    }

    private async Task<string> StoredSha256Async(string key)
    {
        using var get = await server.RawClient.GetObjectAsync(S3rverFixture.Bucket, key);
        using var copy = new MemoryStream();
        await get.ResponseStream.CopyToAsync(copy);
        return Hashes.Of(copy.ToArray());
    }

    /// <summary>What a trainer in a pod does per docs/storage.md: every output file at its relative path, the log as logs/train.log.</summary>
    private async Task KubernetesStyleUploadAsync(string runPrefix, string outputDirectory, string logFile)
    {
        var files = SubprocessRuns.FilesUnder(outputDirectory);
        files[ArtifactLayout.TrainLogFile] = logFile;
        foreach (var (relative, path) in files)
        {
            await server.RawClient.PutObjectAsync(new PutObjectRequest
            {
                BucketName = S3rverFixture.Bucket,
                Key = runPrefix + relative,
                FilePath = path,
                UseChunkEncoding = false,
            });
        }
    }
}
