using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.Tests.Routing;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// Issue 17, item 7: each Kubernetes problem is said once at start-up, health names the executors that can start runs,
/// and a URL that is not a Kubernetes API server is reported as such.
/// </summary>
public sealed class StartupMessageTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("vp-k8s-startup-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Theory]
    [InlineData(404, "text/plain; charset=utf-8", "404 page not found", "GET /version answered 404 Not Found ('404 page not found')")]
    [InlineData(404, "text/html", "<!DOCTYPE html><html><body>Not Found</body></html>", "GET /version answered 404 Not Found with an HTML page")]
    [InlineData(200, "text/html", "<!DOCTYPE html><html><body>Welcome to nginx!</body></html>", "GET /version answered with something that is not a Kubernetes version")]
    [InlineData(200, "application/json", "{\"status\":\"ok\"}", "GET /version answered without a Kubernetes version (gitVersion)")]
    [InlineData(401, "text/plain", "Unauthorized", "GET /version answered 401 Unauthorized ('Unauthorized')")]
    public async Task A_server_that_does_not_answer_like_a_kubernetes_api_server_is_reported_as_not_one(int status, string contentType, string body, string answer)
    {
        using var server = new PlainHttpServer(status, contentType, body);
        using var executor = new KubernetesTrainingExecutor(Jobs.Builder(o =>
        {
            o.Connection.Host = server.Url.ToString().TrimEnd('/');
            o.Connection.AvailabilityTimeout = TimeSpan.FromSeconds(30);
        }));

        var availability = await executor.CheckAvailabilityAsync();

        availability.IsAvailable.Should().BeFalse();
        availability.Reason.Should().Be(
            $"The server at {server.Url.GetLeftPart(UriPartial.Authority)} (configured from Training:Kubernetes:Connection:Host) is not a Kubernetes API server: {answer}. " +
            "Point Training:Kubernetes:Connection:Host, or the kubeconfig's cluster.server, at the cluster's API server (for example https://<control-plane>:6443).");
        availability.Reason.Should().NotContain("no such object").And.NotContain("namespace");
        server.Paths.Should().Contain(p => p.TrimEnd('/') == "/version");
    }

    [Fact]
    public async Task A_kubernetes_status_error_is_still_translated_as_an_api_error()
    {
        const string forbidden = """{"kind":"Status","apiVersion":"v1","status":"Failure","message":"forbidden: User \"system:anonymous\" cannot get path \"/version\"","reason":"Forbidden","code":403}""";
        using var server = new PlainHttpServer(403, "application/json", forbidden);
        using var executor = new KubernetesTrainingExecutor(Jobs.Builder(o => o.Connection.Host = server.Url.ToString().TrimEnd('/')));

        var availability = await executor.CheckAvailabilityAsync();

        availability.IsAvailable.Should().BeFalse();
        availability.Reason.Should().StartWith("Kubernetes RBAC forbids this (403 Forbidden)").And.NotContain("not a Kubernetes API server");
    }

    [Fact]
    public void A_missing_KubeConfigPath_names_its_path_and_setting_once()
    {
        var missing = Path.Combine(_home, "missing.yaml");

        var (_, _, error) = KubernetesConnection.Resolve(new KubernetesConnectionOptions { KubeConfigPath = missing }, _ => null, _home);

        error.Should().Be($"The kubeconfig file {missing} (Training:Kubernetes:Connection:KubeConfigPath) does not exist.");
        Occurrences(error!, missing).Should().Be(1);
    }

    [Fact]
    public async Task Without_a_cluster_and_with_fallback_off_the_problem_is_logged_once_and_health_names_the_subprocess_executor()
    {
        var missing = Path.Combine(_home, "missing.yaml");
        var logs = new CapturedLogs();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        services.AddTrainingExecutors(o =>
            {
                o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName;
                o.Fallback.Enabled = false;
                o.Availability.BackgroundRefresh = true;   // probes every executor at start-up, as a default host does
                o.Subprocess.Interpreter = "python3";
                o.Subprocess.Script = Path.Combine(FallbackHost.RepoRoot, "samples", "trainer", "train.py");
                o.Subprocess.RunsDirectory = Path.Combine(_home, "runs");
            })
            .AddSubprocess()
            .AddKubernetes(o => o.Connection.KubeConfigPath = missing)
            .AddTrainingHealthChecks();
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        try
        {
            // The start-up probe has run once the client has logged the executor's availability.
            await logs.WaitForAsync(e => e.EventId == 1102, TimeSpan.FromSeconds(60));
            var saidAtWarning = logs.Entries.Where(e => e.Level >= LogLevel.Warning && e.Message.Contains(missing, StringComparison.Ordinal)).ToList();
            saidAtWarning.Should().ContainSingle(string.Join("\n", logs.Entries.Select(e => $"{e.Level} {e.Category}[{e.EventId}] {e.Message}")))
                .Which.Message.Should().Be($"Training executor 'kubernetes' is unavailable: The kubeconfig file {missing} (Training:Kubernetes:Connection:KubeConfigPath) does not exist.");
            Occurrences(saidAtWarning[0].Message, missing).Should().Be(1);

            // (The health check service logs each non-healthy result itself; that is a request's log, not start-up's.)
            var health = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
            var entry = health.Entries[TrainingExecutorsHealthCheck.DefaultName];
            entry.Status.Should().Be(HealthStatus.Degraded);
            entry.Description.Should().NotContain("No training executor can start runs")
                .And.Contain("fallback is off")
                .And.EndWith("Executors that can start runs: 'subprocess'.");
            entry.Data["subprocess"].Should().Be("available");
            Occurrences(entry.Description!, missing).Should().Be(1);
        }
        finally
        {
            foreach (var service in hosted)
            {
                await service.StopAsync(CancellationToken.None);
            }
        }
    }

    [Fact]
    public async Task A_monitor_whose_server_keeps_failing_warns_at_the_1st_and_10th_failure_in_a_row_not_on_every_retry()
    {
        using var server = new PlainHttpServer(404, "text/html", "<!DOCTYPE html><html><body>Not Found</body></html>");
        var logs = new CapturedLogs();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName)
            .AddKubernetes(o =>
            {
                o.Connection.Host = server.Url.ToString().TrimEnd('/');
                o.Monitor.BackoffBase = TimeSpan.FromMilliseconds(10);
                o.Monitor.BackoffMax = TimeSpan.FromMilliseconds(20);
            });
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        try
        {
            // Wait until the job list has failed 12 times in a row.
            await logs.WaitForAsync(e => e.EventId is 4206 or 4215 && e.Message.Contains("(12 in a row)", StringComparison.Ordinal) && e.Message.Contains(" jobs ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        }
        finally
        {
            foreach (var service in hosted)
            {
                await service.StopAsync(CancellationToken.None);
            }
        }

        var jobListFailures = logs.Entries.Where(e => e.EventId is 4206 or 4215 && e.Message.Contains(" jobs ", StringComparison.Ordinal)).ToList();
        jobListFailures.Should().HaveCountGreaterThanOrEqualTo(12);
        jobListFailures.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message[..e.Message.IndexOf(';', StringComparison.Ordinal)])
            .Should().Equal("Kubernetes jobs list failed (1 in a row)", "Kubernetes jobs list failed (10 in a row)");
        jobListFailures.Where(e => e.Level == LogLevel.Debug).Should().HaveCountGreaterThanOrEqualTo(10);
    }

    private static int Occurrences(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>A loopback web server that is not Kubernetes: every request gets the same status, content type and body.</summary>
    private sealed class PlainHttpServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;

        public PlainHttpServer(int status, string contentType, string body)
        {
            var port = ScriptedApiServer.FreePort();
            Url = new Uri($"http://127.0.0.1:{port}/");
            _listener.Prefixes.Add(Url.ToString());
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try
                    {
                        context = await _listener.GetContextAsync();
                    }
                    catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                    {
                        return;
                    }

                    Paths.Enqueue(context.Request.Url!.AbsolutePath);
                    var bytes = Encoding.UTF8.GetBytes(body);
                    context.Response.StatusCode = status;
                    context.Response.ContentType = contentType;
                    context.Response.ContentLength64 = bytes.Length;
                    await context.Response.OutputStream.WriteAsync(bytes);
                    context.Response.Close();
                }
            });
        }

        public Uri Url { get; }

        public ConcurrentQueue<string> Paths { get; } = new();

        public void Dispose()
        {
            _listener.Close();
            _loop.Wait(TimeSpan.FromSeconds(10));
        }
    }

    private sealed record LogEntry(string Category, LogLevel Level, int EventId, string Message);

    private sealed class CapturedLogs : ILoggerProvider
    {
        private readonly ConcurrentQueue<LogEntry> _entries = new();
        private readonly SemaphoreSlim _written = new(0);

        public IReadOnlyList<LogEntry> Entries => _entries.ToList();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public async Task WaitForAsync(Func<LogEntry, bool> match, TimeSpan limit)
        {
            using var timeout = new CancellationTokenSource(limit);
            while (!_entries.Any(match))
            {
                await _written.WaitAsync(timeout.Token);
            }
        }

        public void Dispose() => _written.Dispose();

        private sealed class Logger(CapturedLogs owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                owner._entries.Enqueue(new LogEntry(category, logLevel, eventId.Id, formatter(state, exception)));
                owner._written.Release();
            }
        }
    }
}
