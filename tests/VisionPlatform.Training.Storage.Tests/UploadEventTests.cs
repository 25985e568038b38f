using Microsoft.Extensions.DependencyInjection;
using VisionPlatform.Training.Subprocess;

namespace VisionPlatform.Training.Storage.Tests;

/// <summary>
/// A subscriber of <see cref="ITrainingEventSource"/> learns that a real train.py run's outputs reached the real s3rver
/// (or did not) from a <see cref="TrainingArtifactUploadEvent"/>, without polling the status.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class UploadEventTests(S3rverFixture server) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly SubprocessRuns _runs = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _runs.DisposeAsync();

    [Fact]
    public async Task A_subscriber_gets_one_uploaded_event_after_the_terminal_phase_and_the_status_agrees()
    {
        await using var provider = Build(server.Options(), uploadAttempts: 1);
        var executor = provider.GetRequiredService<SubprocessTrainingExecutor>();
        _runs.Track(executor);
        var source = provider.GetRequiredService<ITrainingEventSource>();

        var (events, upload, status) = await RunAndCollectAsync(source, executor, "job-upload-event");

        upload.Upload.State.Should().Be(ArtifactUploadState.Uploaded, upload.Upload.Message);
        upload.Upload.FinishedAt.Should().NotBeNull();
        upload.Upload.Attempts.Should().Be(1);
        upload.Upload.Message.Should().Contain($"s3://{S3rverFixture.Bucket}/");
        status.ArtifactUpload.Should().Be(upload.Upload, "the event is published after the state is saved");
        status.Phase.Should().Be(TrainingPhase.Succeeded);
        AssertOrdered(events, upload);
    }

    [Fact]
    public async Task With_storage_down_a_subscriber_gets_one_failed_event_with_the_reason()
    {
        var storage = server.Options($"http://127.0.0.1:{SubprocessRuns.ClosedPort()}");
        storage.MaxRetryAttempts = 0;
        await using var provider = Build(storage, uploadAttempts: 2);
        var executor = provider.GetRequiredService<SubprocessTrainingExecutor>();
        _runs.Track(executor);
        var source = provider.GetRequiredService<ITrainingEventSource>();

        var (events, upload, status) = await RunAndCollectAsync(source, executor, "job-upload-event-down");

        upload.Upload.State.Should().Be(ArtifactUploadState.Failed);
        upload.Upload.Attempts.Should().Be(2, "only the final state is published, not each failed attempt");
        upload.Upload.Message.Should().Contain("after 2 attempt(s)").And.Contain($"bucket '{S3rverFixture.Bucket}'");
        status.ArtifactUpload.Should().Be(upload.Upload);
        status.Phase.Should().Be(TrainingPhase.Succeeded, "the training itself worked");
        AssertOrdered(events, upload);
    }

    private ServiceProvider Build(ArtifactStorageOptions storage, int uploadAttempts)
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = TrainingExecutorNames.Subprocess;
            _runs.Configure(o);
            o.Subprocess.UploadAttempts = uploadAttempts;
        }).AddSubprocess().AddArtifactStorage(o =>
        {
            o.ServiceUrl = storage.ServiceUrl;
            o.Bucket = storage.Bucket;
            o.AccessKeyId = storage.AccessKeyId;
            o.SecretAccessKey = storage.SecretAccessKey;
            o.Prefix = storage.Prefix;
            o.RetryBaseDelay = storage.RetryBaseDelay;
            o.MaxRetryAttempts = storage.MaxRetryAttempts;
        });
        return services.BuildServiceProvider();
    }

    /// <summary>
    /// Subscribes before the run starts and reads its events until the upload event; then shuts the executor down (which
    /// waits for its uploads, so nothing more can be published) and drains whatever else was buffered.
    /// </summary>
    private static async Task<(List<TrainingRunEvent> Events, TrainingArtifactUploadEvent Upload, TrainingRunStatus Status)> RunAndCollectAsync(
        ITrainingEventSource source, SubprocessTrainingExecutor executor, string jobId)
    {
        using var cancel = new CancellationTokenSource();
        var subscription = new TrainingEventSubscription { JobId = jobId, IncludeProgress = false };
        await using var events = source.SubscribeAsync(subscription, cancel.Token).GetAsyncEnumerator(cancel.Token);
        var next = events.MoveNextAsync().AsTask();

        var run = await executor.StartAsync(SubprocessRuns.Job(jobId, epochs: 1));
        var received = new List<TrainingRunEvent>();
        TrainingArtifactUploadEvent? upload = null;
        while (upload is null)
        {
            (await next.WaitAsync(Patience)).Should().BeTrue();
            var item = events.Current.Should().BeAssignableTo<TrainingRunEvent>().Which;
            received.Add(item);
            upload = item as TrainingArtifactUploadEvent;
            next = events.MoveNextAsync().AsTask();
        }

        upload.Run.Should().Be(run);
        var status = await executor.GetStatusAsync(run);

        await executor.DisposeAsync().AsTask().WaitAsync(Patience);
        while (await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(1))) == next && await next)
        {
            received.Add((TrainingRunEvent)events.Current);
            next = events.MoveNextAsync().AsTask();
        }

        await cancel.CancelAsync();
        await next.ContinueWith(static _ => { }, TaskScheduler.Default);
        return (received, upload, status);
    }

    private static void AssertOrdered(List<TrainingRunEvent> events, TrainingArtifactUploadEvent upload)
    {
        events.OfType<TrainingArtifactUploadEvent>().Should().ContainSingle("one event per final upload state");
        events.Select(e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        var terminal = events.OfType<TrainingPhaseChangedEvent>().Should().ContainSingle(e => e.Status.IsTerminal).Which;
        upload.Sequence.Should().BeGreaterThan(terminal.Sequence, "the upload starts when the run has ended");
        terminal.Status.ArtifactUpload!.IsFinal.Should().BeFalse("the terminal phase is published before the upload ends");
    }
}
