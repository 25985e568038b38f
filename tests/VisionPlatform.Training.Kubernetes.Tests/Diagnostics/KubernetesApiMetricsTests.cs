using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VisionPlatform.Training.Diagnostics;
using VisionPlatform.Training.Kubernetes.TestCluster;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Kubernetes.Tests.Diagnostics;

/// <summary>
/// The Kubernetes API instruments, counted by the executor's resilience handler against the test cluster's real HTTP
/// API server with injected faults.
/// </summary>
public sealed class KubernetesApiMetricsTests : IAsyncLifetime
{
    private KubernetesTestCluster _cluster = null!;
    private ServiceProvider _provider = null!;
    private MeasurementRecorder _meters = null!;

    private ITrainingExecutor Executor => _provider.GetRequiredKeyedService<ITrainingExecutor>(KubernetesExecutorInfo.ExecutorName);

    public async Task InitializeAsync()
    {
        var options = new KubernetesTestClusterOptions();
        options.Namespaces.Add("training");
        options.Components.Clear(); // The API server alone: the calls are what is measured.
        _cluster = await KubernetesTestCluster.StartAsync(options);
        var services = new ServiceCollection();
        services.AddSingleton<IMeterFactory, MeasurementRecorder>();
        services.AddTrainingExecutors(o =>
            {
                o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName;
                o.Availability.BackgroundRefresh = false;
            })
            .AddKubernetes(o =>
            {
                o.Namespace = "training";
                o.Image.Registry = "registry.example.com/vision";
                o.Image.Tag = "1.4.0";
                o.Connection.Host = _cluster.Url.ToString().TrimEnd('/');
                o.Connection.Resilience.BaseDelay = TimeSpan.FromMilliseconds(20);
                o.Connection.Resilience.MaxDelay = TimeSpan.FromMilliseconds(200);
                o.Connection.Resilience.MaxRetryAfter = TimeSpan.FromSeconds(5);
            });
        _provider = services.BuildServiceProvider();
        _meters = (MeasurementRecorder)_provider.GetRequiredService<IMeterFactory>();
    }

    public async Task DisposeAsync()
    {
        await _provider.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    private static TrainingJobConfig Job(string id) => SampleJobs.Yolo(id, epochs: 10);

    [Fact]
    public async Task Every_attempt_is_counted_with_its_verb_resource_and_status_and_a_500_is_an_error_and_a_retry()
    {
        _cluster.Faults.FailNext(1, 500, r => r.Verb == "get" && r.Resource == "jobs");

        (await Executor.FindAsync("job-missing")).Should().BeNull();

        var calls = _meters.Of(TrainingTelemetry.ExecutorRequestsInstrument)
            .Where(m => (string?)m[TrainingTelemetry.ResourceTag] == "jobs").ToList();
        calls.Select(m => (m[TrainingTelemetry.OperationTag], m[TrainingTelemetry.HttpStatusCodeTag])).Should().Equal(("get", 500), ("get", 404));
        var error = _meters.Of(TrainingTelemetry.ExecutorRequestErrorsInstrument).Should().ContainSingle().Subject;
        error[TrainingTelemetry.HttpStatusCodeTag].Should().Be(500);
        error[TrainingTelemetry.ErrorTypeTag].Should().Be("500");
        error[TrainingTelemetry.OperationTag].Should().Be("get");
        var retry = _meters.Of(TrainingTelemetry.ExecutorRequestRetriesInstrument).Should().ContainSingle().Subject;
        retry[TrainingTelemetry.ResourceTag].Should().Be("jobs");
        calls.Concat([error, retry]).Should().OnlyContain(m => (string?)m[TrainingTelemetry.ExecutorTag] == KubernetesExecutorInfo.ExecutorName, "every instrument is tagged with the executor");
    }

    [Fact]
    public async Task A_429_with_retry_after_is_an_error_then_the_create_succeeds()
    {
        _cluster.Faults.FailNext(1, 429, r => r.Verb == "create" && r.Resource == "jobs", retryAfterSeconds: 1);

        await Executor.StartAsync(Job("job-throttled"));

        var creates = _meters.Of(TrainingTelemetry.ExecutorRequestsInstrument)
            .Where(m => (string?)m[TrainingTelemetry.OperationTag] == "create").ToList();
        creates.Select(m => m[TrainingTelemetry.HttpStatusCodeTag]).Should().Equal(429, 201);
        creates.Should().OnlyContain(m => (string?)m[TrainingTelemetry.ResourceTag] == "jobs");
        _meters.Of(TrainingTelemetry.ExecutorRequestErrorsInstrument).Should().ContainSingle()
            .Which[TrainingTelemetry.ErrorTypeTag].Should().Be("429");
        _meters.Of(TrainingTelemetry.ExecutorRequestRetriesInstrument).Should().ContainSingle();
    }

    [Fact]
    public async Task The_counts_match_what_the_api_server_answered()
    {
        _cluster.Requests.Clear();
        var run = await Executor.StartAsync(Job("job-counted"));
        await Executor.GetStatusAsync(run);
        await Executor.ListAsync();
        await Executor.StopAsync(run);
        _cluster.Faults.FailNext(2, 503, r => r.Verb == "list");
        await Executor.ListAsync();

        var served = _cluster.Requests.Entries
            .GroupBy(e => (Verb: e.Verb, Resource: e.Request.Subresource is { } sub ? $"{e.Resource}/{sub}" : e.Resource, Status: e.StatusCode))
            .ToDictionary(g => g.Key, g => g.Count());
        var counted = _meters.Of(TrainingTelemetry.ExecutorRequestsInstrument)
            .GroupBy(m => (Verb: (string)m[TrainingTelemetry.OperationTag]!, Resource: (string)m[TrainingTelemetry.ResourceTag]!, Status: (int)m[TrainingTelemetry.HttpStatusCodeTag]!))
            .ToDictionary(g => g.Key, g => g.Count());

        counted.Should().BeEquivalentTo(served);
        _meters.Of(TrainingTelemetry.ExecutorRequestErrorsInstrument).Should().HaveCount(2);
    }

    [Fact]
    public async Task Attempts_that_get_no_answer_are_connection_errors()
    {
        await _cluster.Faults.RefuseConnectionsAsync();
        try
        {
            var act = () => Executor.FindAsync("job-unreachable");
            await act.Should().ThrowAsync<Exception>();
        }
        finally
        {
            await _cluster.Faults.AcceptConnectionsAsync();
        }

        var errors = _meters.Of(TrainingTelemetry.ExecutorRequestErrorsInstrument);
        errors.Should().HaveCount(4, "the first attempt and three retries (Resilience:MaxRetryAttempts)");
        errors.Should().OnlyContain(m => (string?)m[TrainingTelemetry.ErrorTypeTag] == "connection_error" && m[TrainingTelemetry.HttpStatusCodeTag] == null);
        _meters.Of(TrainingTelemetry.ExecutorRequestRetriesInstrument).Should().HaveCount(3);
    }

    [Fact]
    public async Task The_monitors_lists_and_watches_are_counted_too()
    {
        var hosted = _provider.GetServices<IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            bool Seen(string verb, string resource) => _meters.Of(TrainingTelemetry.ExecutorRequestsInstrument)
                .Any(m => (string?)m[TrainingTelemetry.OperationTag] == verb && (string?)m[TrainingTelemetry.ResourceTag] == resource && m[TrainingTelemetry.HttpStatusCodeTag] is 200);
            while (!(Seen("list", "jobs") && Seen("watch", "jobs") && Seen("list", "pods") && Seen("watch", "pods")))
            {
                DateTime.UtcNow.Should().BeBefore(deadline, "the monitor lists and then watches Jobs and pods");
                await Task.Delay(100);
            }
        }
        finally
        {
            foreach (var service in Enumerable.Reverse(hosted))
            {
                await service.StopAsync(CancellationToken.None);
            }
        }
    }
}
