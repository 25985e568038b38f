using System.Collections.Concurrent;
using System.Diagnostics;
using VisionPlatform.Training.Diagnostics;

namespace VisionPlatform.Training.Tests.Diagnostics;

/// <summary>The manager's <c>training.start</c> and <c>training.stop</c> spans, observed with an <see cref="ActivityListener"/>.</summary>
public sealed class TrainingActivityTests : IDisposable
{
    private const string CallerName = "VisionPlatform.Training.Tests.Caller";
    private static readonly ActivitySource Caller = new(CallerName);
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;
    private readonly TelemetryHost _host = new(o => o.Fallback.Enabled = true);
    private readonly string _prefix = "span-" + Guid.NewGuid().ToString("N")[..8];

    public TrainingActivityTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == TrainingTelemetry.ActivitySourceName || s.Name == CallerName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _host.Dispose();
    }

    /// <summary>This test's spans of one name (the listener is process-wide; other tests' spans carry other job ids).</summary>
    private List<Activity> Spans(string name, string jobId) =>
        _stopped.Where(a => a.OperationName == name && (string?)a.GetTagItem(TrainingTelemetry.JobIdTag) == jobId).ToList();

    [Fact]
    public async Task A_start_is_a_child_span_of_the_callers_trace_with_its_routing_tags()
    {
        var jobId = _prefix + "-ok";
        Activity parent;
        using (parent = Caller.StartActivity("POST /runs")!)
        {
            await _host.Client.StartAsync(TelemetryHost.Job(jobId, "timm"));
        }

        var span = Spans(TrainingTelemetry.StartActivityName, jobId).Should().ContainSingle().Subject;
        span.TraceId.Should().Be(parent.TraceId);
        span.ParentSpanId.Should().Be(parent.SpanId);
        span.Status.Should().Be(ActivityStatusCode.Ok);
        span.GetTagItem(TrainingTelemetry.RequestedExecutorTag).Should().Be("alpha");
        span.GetTagItem(TrainingTelemetry.ExecutorTag).Should().Be("alpha");
        span.GetTagItem(TrainingTelemetry.FrameworkTag).Should().Be("timm");
        span.GetTagItem(TrainingTelemetry.FallbackTag).Should().Be(false);
    }

    [Fact]
    public async Task A_fallback_start_says_so()
    {
        var jobId = _prefix + "-fallback";
        _host.Alpha.Availability = ExecutorAvailability.Unavailable("maintenance", TelemetryHost.T0);

        await _host.Client.StartAsync(TelemetryHost.Job(jobId));

        var span = Spans(TrainingTelemetry.StartActivityName, jobId).Should().ContainSingle().Subject;
        span.GetTagItem(TrainingTelemetry.ExecutorTag).Should().Be("beta");
        span.GetTagItem(TrainingTelemetry.FallbackTag).Should().Be(true);
        ((string?)span.GetTagItem(TrainingTelemetry.FallbackReasonTag)).Should().Contain("maintenance");
    }

    [Fact]
    public async Task A_failed_start_has_error_status_the_error_code_and_an_exception_event()
    {
        var jobId = _prefix + "-down";
        _host.Alpha.Availability = ExecutorAvailability.Unavailable("maintenance", TelemetryHost.T0);
        _host.Beta.Availability = ExecutorAvailability.Unavailable("also down", TelemetryHost.T0);

        var act = () => _host.Client.StartAsync(TelemetryHost.Job(jobId));

        await act.Should().ThrowAsync<TrainingException>();
        var span = Spans(TrainingTelemetry.StartActivityName, jobId).Should().ContainSingle().Subject;
        span.Status.Should().Be(ActivityStatusCode.Error);
        span.StatusDescription.Should().StartWith(TrainingErrorCode.ExecutorUnavailable.Value);
        span.GetTagItem(TrainingTelemetry.ErrorTypeTag).Should().Be(TrainingErrorCode.ExecutorUnavailable.Value);
        span.Events.Should().ContainSingle(e => e.Name == "exception");
    }

    [Fact]
    public async Task A_request_error_marks_the_span_failed_too()
    {
        var jobId = _prefix + "-conflict";
        await _host.Client.StartAsync(TelemetryHost.Job(jobId));

        var act = () => _host.Client.StartAsync(TelemetryHost.Job(jobId, "timm"));

        await act.Should().ThrowAsync<TrainingException>();
        var spans = Spans(TrainingTelemetry.StartActivityName, jobId);
        spans.Should().HaveCount(2);
        spans[1].Status.Should().Be(ActivityStatusCode.Error);
        spans[1].GetTagItem(TrainingTelemetry.ErrorTypeTag).Should().Be(TrainingErrorCode.JobConflict.Value);
    }

    [Fact]
    public async Task A_stop_is_a_span_with_the_phase_it_reported()
    {
        var jobId = _prefix + "-stop";
        var run = (await _host.Client.StartAsync(TelemetryHost.Job(jobId))).Run;

        await _host.Client.GetOperation(run).StopAsync();

        var span = Spans(TrainingTelemetry.StopActivityName, jobId).Should().ContainSingle().Subject;
        span.GetTagItem(TrainingTelemetry.ExecutorTag).Should().Be("alpha");
        span.GetTagItem(TrainingTelemetry.ResultPhaseTag).Should().Be("stopped");
        span.Status.Should().Be(ActivityStatusCode.Ok);
    }
}
