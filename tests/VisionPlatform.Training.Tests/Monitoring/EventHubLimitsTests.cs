using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Tests.Monitoring;

/// <summary>
/// Issue 13, item 4 (event hub): subscribers cannot take the host's memory. A limit on open subscriptions
/// (<c>Training:Events:MaxSubscribers</c>) and on buffered bytes per subscriber
/// (<c>Training:Events:MaxBufferedBytesPerSubscriber</c>), not only on buffered events. Through the public API a host uses.
/// </summary>
public sealed class EventHubLimitsTests
{
    private const int OneMiB = 1024 * 1024;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private static readonly TrainingRun Run = new("subprocess", "job-logs", "job-logs-r");

    [Fact]
    public async Task A_stalled_subscriber_of_1_MiB_log_lines_keeps_only_its_byte_budget_and_gets_the_gap_marker()
    {
        await using var provider = Build(new() { ["Training:Events:MaxBufferedBytesPerSubscriber"] = (8 * OneMiB).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var (events, publisher) = Resolve(provider);
        using var end = new CancellationTokenSource();
        await using var stalled = events.SubscribeAsync(new TrainingEventSubscription { IncludeLogs = true, IncludeCurrentState = false }, end.Token).GetAsyncEnumerator(end.Token);
        var first = stalled.MoveNextAsync().AsTask(); // Subscribed, then stalled: nothing is read while the lines arrive.
        var line = new string('x', OneMiB);
        publisher.PublishLog(Run, new TrainingLogLine("first", null, 0));
        (await first.WaitAsync(Patience)).Should().BeTrue();

        for (var i = 1; i <= 100; i++)
        {
            publisher.PublishLog(Run, new TrainingLogLine(line, null, i)); // 100 lines of 1 MiB: 200 MiB as .NET strings
        }

        (await stalled.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().BeTrue();
        var gap = stalled.Current.Should().BeOfType<TrainingEventsDroppedEvent>("the buffer held 8 MiB, not 100 lines of 1 MiB").Which;
        var kept = new List<int>();
        var next = stalled.MoveNextAsync().AsTask();
        while (await Task.WhenAny(next, Task.Delay(TimeSpan.FromMilliseconds(300))) == next && await next)
        {
            kept.Add(stalled.Current.Should().BeOfType<TrainingLogEvent>().Which.Line.Attempt);
            next = stalled.MoveNextAsync().AsTask();
        }

        await end.CancelAsync();
        await FluentActions.Awaiting(() => next).Should().ThrowAsync<OperationCanceledException>();
        kept.Should().NotBeEmpty().And.HaveCountLessThanOrEqualTo(4, "8 MiB holds at most four lines of 1 MiB characters (2 MiB each)");
        kept.Should().Equal(Enumerable.Range(101 - kept.Count, kept.Count), "the newest lines are kept, in order");
        gap.Count.Should().Be(100 - kept.Count, "the marker counts exactly what was dropped");
    }

    [Fact]
    public async Task A_disconnect_subscriber_over_its_byte_budget_ends_with_SubscriberOverflow_naming_the_key()
    {
        await using var provider = Build(new() { ["Training:Events:MaxBufferedBytesPerSubscriber"] = (4 * OneMiB).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var (events, publisher) = Resolve(provider);
        await using var stalled = events.SubscribeAsync(new TrainingEventSubscription { IncludeLogs = true, IncludeCurrentState = false, OverflowPolicy = TrainingEventOverflowPolicy.Disconnect }).GetAsyncEnumerator();
        var first = stalled.MoveNextAsync().AsTask();
        publisher.PublishLog(Run, new TrainingLogLine("first"));
        (await first.WaitAsync(Patience)).Should().BeTrue();
        var line = new string('x', OneMiB);

        for (var i = 0; i < 5; i++)
        {
            publisher.PublishLog(Run, new TrainingLogLine(line));
        }

        var ended = await FluentActions.Awaiting(() => stalled.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().ThrowAsync<TrainingException>();
        ended.Which.Code.Should().Be(TrainingErrorCode.SubscriberOverflow);
        ended.Which.Message.Should().Contain("Training:Events:MaxBufferedBytesPerSubscriber");
    }

    [Fact]
    public async Task A_subscription_beyond_MaxSubscribers_fails_with_SubscriberLimitReached_and_one_closing_frees_a_place()
    {
        await using var provider = Build(new() { ["Training:Events:MaxSubscribers"] = "2" });
        var (events, publisher) = Resolve(provider);
        var open = new List<IAsyncEnumerator<TrainingJobEvent>>();
        var pending = new List<Task<bool>>();
        for (var i = 0; i < 2; i++)
        {
            var subscription = events.SubscribeAsync(new TrainingEventSubscription { IncludeCurrentState = false }).GetAsyncEnumerator();
            open.Add(subscription);
            pending.Add(subscription.MoveNextAsync().AsTask());
        }

        await using var third = events.SubscribeAsync(new TrainingEventSubscription { IncludeCurrentState = false }).GetAsyncEnumerator();
        var refused = await FluentActions.Awaiting(() => third.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().ThrowAsync<TrainingException>();
        refused.Which.Code.Should().Be(TrainingErrorCode.SubscriberLimitReached);
        refused.Which.Message.Should().Contain("Training:Events:MaxSubscribers = 2");

        publisher.PublishStatus(new TrainingRunStatus { Run = Run, Phase = TrainingPhase.Running, Reason = "Running" });
        (await Task.WhenAll(pending).WaitAsync(Patience)).Should().OnlyContain(delivered => delivered, "the open subscriptions still work");
        await open[0].DisposeAsync();
        await using var replacement = events.SubscribeAsync(new TrainingEventSubscription { JobId = Run.JobId }).GetAsyncEnumerator();
        (await replacement.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().BeTrue("a closed subscription frees its place");
        await open[1].DisposeAsync();
    }

    [Theory]
    [InlineData("Training:Events:MaxSubscribers", "0", "Training:Events:MaxSubscribers is 0: it must be between 1 and 100000")]
    [InlineData("Training:Events:MaxSubscribers", "100001", "Training:Events:MaxSubscribers is 100001: it must be between 1 and 100000")]
    [InlineData("Training:Events:MaxBufferedBytesPerSubscriber", "65536", "Training:Events:MaxBufferedBytesPerSubscriber is 65536: it must be between 4194304 (4 MiB) and 1073741824 (1 GiB) bytes")]
    public async Task Limits_outside_their_range_stop_the_host_at_start_up_naming_the_key(string key, string value, string expected)
    {
        await using var provider = Build(new() { [key] = value });

        var start = () => provider.GetRequiredService<IStartupValidator>().Validate();

        start.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain(expected);
    }

    [Fact]
    public async Task The_defaults_are_1000_subscribers_and_8_MiB_per_subscriber()
    {
        await using var provider = Build([]);
        provider.GetRequiredService<IStartupValidator>().Validate();
        var limits = provider.GetRequiredService<IOptions<TrainingOptions>>().Value.Events;

        limits.MaxSubscribers.Should().Be(1000);
        limits.MaxBufferedBytesPerSubscriber.Should().Be(8L * OneMiB);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        settings["Training:DefaultExecutor"] = "subprocess";
        settings["Training:Subprocess:ValidateTrainerOnStart"] = "false"; // these tests start no trainer
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(configuration.GetSection("Training")).AddSubprocess();
        return services.BuildServiceProvider();
    }

    private static (ITrainingEventSource Events, ITrainingEventPublisher Publisher) Resolve(ServiceProvider provider)
    {
        provider.GetRequiredService<IStartupValidator>().Validate();
        return (provider.GetRequiredService<ITrainingEventSource>(), provider.GetRequiredService<ITrainingEventPublisher>());
    }
}
