using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace VisionPlatform.Training.Testing.Tests.Events;

// What a backend sees through DI when one of its subscribers cannot keep up, and when a wait for completion times out on
// the host's clock: a slow subscriber loses only its own events, and the timeout follows the injected TimeProvider.
public sealed class SubscriberLimitsTests : IAsyncDisposable
{
    private const int Epochs = 100;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _clock = TestJobs.Clock();
    private readonly ServiceProvider _provider;

    public SubscriberLimitsTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddTrainingExecutors(o => o.DefaultExecutor = "in-memory").AddInMemoryExecutor();
        _provider = services.BuildServiceProvider();
    }

    private ITrainingExecutor Executor => _provider.GetRequiredKeyedService<ITrainingExecutor>(InMemoryTrainingExecutor.DefaultName);

    private TrainingClient Client => _provider.GetRequiredService<TrainingClient>();

    private InMemoryTrainingExecutor Memory => _provider.GetInMemoryExecutor();

    private ITrainingEventSource Events => _provider.GetRequiredService<ITrainingEventSource>();

    public async ValueTask DisposeAsync() => await _provider.DisposeAsync();

    [Fact]
    public async Task A_subscriber_that_does_not_read_gets_a_gap_marker_counting_its_dropped_events_while_another_gets_everything()
    {
        var run = await Executor.StartAsync(TestJobs.Config("job-busy", epochs: Epochs));
        Memory.SetRunning(run);
        await using var fast = new TrainingEventCollector(Events, new TrainingEventSubscription { JobId = run.JobId });
        await using var slow = Events.SubscribeAsync(new TrainingEventSubscription { JobId = run.JobId, BufferCapacity = 16 }).GetAsyncEnumerator();
        (await slow.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().BeTrue();
        var start = slow.Current.Should().BeOfType<TrainingPhaseChangedEvent>().Subject;
        start.Status.Phase.Should().Be(TrainingPhase.Running, "the subscription starts from the run's current state");

        // 100 progress events and the final phase change while the slow subscriber reads nothing: 101 events, 16 fit.
        ProduceEpochsAndComplete(run);

        var received = new List<TrainingJobEvent>();
        while (received.LastOrDefault() is not TrainingPhaseChangedEvent { Status.IsTerminal: true })
        {
            (await slow.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().BeTrue();
            received.Add(slow.Current);
        }

        var gap = received[0].Should().BeOfType<TrainingEventsDroppedEvent>().Subject;
        gap.Count.Should().Be(Epochs + 1 - 16);
        var kept = received.Skip(1).Cast<TrainingRunEvent>().ToList();
        kept.OfType<TrainingProgressEvent>().Select(p => p.Progress.Epoch).Should().Equal(Enumerable.Range(Epochs - 14, 15), "the newest events are kept");
        kept.Select(e => e.Sequence).Should().BeInAscendingOrder();
        (kept[0].Sequence - start.Sequence - 1).Should().Be(gap.Count, "the marker stands exactly for the sequence numbers missing");

        var all = await fast.WaitForAsync(e => e.OfType<TrainingPhaseChangedEvent>().Any(p => p.Status.IsTerminal), TestJobs.Patience);
        all.Should().NotContain(e => e is TrainingEventsDroppedEvent);
        all.OfType<TrainingProgressEvent>().Select(p => p.Progress.Epoch).Should().Equal(Enumerable.Range(1, Epochs));
        all.Cast<TrainingRunEvent>().Select(e => e.Sequence).Should().Equal(Enumerable.Range((int)start.Sequence, Epochs + 2).Select(i => (long)i));
    }

    [Fact]
    public async Task A_disconnecting_subscriber_that_falls_behind_ends_with_SubscriberOverflow_while_another_gets_everything()
    {
        var run = await Executor.StartAsync(TestJobs.Config("job-busy", epochs: Epochs));
        Memory.SetRunning(run);
        await using var fast = new TrainingEventCollector(Events, new TrainingEventSubscription { JobId = run.JobId });
        await using var slow = Events.SubscribeAsync(new TrainingEventSubscription
        {
            JobId = run.JobId,
            BufferCapacity = 16,
            OverflowPolicy = TrainingEventOverflowPolicy.Disconnect,
        }).GetAsyncEnumerator();
        (await slow.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().BeTrue();

        ProduceEpochsAndComplete(run);

        var read = async () => await slow.MoveNextAsync().AsTask().WaitAsync(Patience);
        var ended = (await read.Should().ThrowAsync<TrainingException>()).Which;
        ended.Code.Should().Be(TrainingErrorCode.SubscriberOverflow);
        ended.Message.Should().Contain("BufferCapacity").And.Contain("Disconnect");

        var all = await fast.WaitForAsync(e => e.OfType<TrainingPhaseChangedEvent>().Any(p => p.Status.IsTerminal), TestJobs.Patience);
        all.OfType<TrainingProgressEvent>().Select(p => p.Progress.Epoch).Should().Equal(Enumerable.Range(1, Epochs));
        (await Executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Succeeded, "a subscriber's overflow does not affect the run");
    }

    [Fact]
    public async Task WaitForCompletion_times_out_on_the_injected_clock_without_real_waiting()
    {
        var run = await Executor.StartAsync(TestJobs.Config("job-endless"));
        Memory.SetRunning(run);

        var waiting = Client.GetOperation(run).WaitForCompletionAsync(TimeSpan.FromMinutes(10));
        _clock.Advance(TimeSpan.FromMinutes(9));
        waiting.IsCompleted.Should().BeFalse("nine minutes of the ten have passed on the host's clock");
        _clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));

        // Only the fake clock passed ten minutes; a timeout on the system clock would not fire within the patience.
        var wait = async () => await waiting.WaitAsync(Patience);
        (await wait.Should().ThrowAsync<TimeoutException>()).Which.Message.Should()
            .Contain("job-endless").And.Contain("not finished after 00:10:00").And.Contain("Running");
    }

    [Fact]
    public async Task WaitForCompletion_still_returns_the_final_status_when_the_run_ends_before_the_fake_timeout()
    {
        var run = await Executor.StartAsync(TestJobs.Config("job-quick"));
        Memory.SetRunning(run);

        var waiting = Client.GetOperation(run).WaitForCompletionAsync(TimeSpan.FromMinutes(10));
        _clock.Advance(TimeSpan.FromMinutes(9));
        Memory.Complete(run);

        (await waiting.WaitAsync(Patience)).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    private void ProduceEpochsAndComplete(TrainingRun run)
    {
        for (var epoch = 1; epoch <= Epochs; epoch++)
        {
            Memory.ReportProgress(run, epoch, Epochs, new Dictionary<string, double> { ["loss"] = 1.0 / epoch });
        }

        Memory.Complete(run);
    }
}
