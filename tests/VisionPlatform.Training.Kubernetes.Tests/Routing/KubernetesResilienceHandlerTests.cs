using System.Net;
using k8s;
using k8s.Autorest;

namespace VisionPlatform.Training.Kubernetes.Tests.Routing;

public sealed class KubernetesResilienceHandlerTests : IDisposable
{
    private readonly ScriptedApiServer _server = new();

    private static KubernetesResilienceOptions Fast() => new()
    {
        MaxRetryAttempts = 3,
        BaseDelay = TimeSpan.FromMilliseconds(20),
        MaxDelay = TimeSpan.FromMilliseconds(200),
        AttemptTimeout = TimeSpan.FromSeconds(20),
    };

    private k8s.Kubernetes Client(KubernetesResilienceOptions? options = null) =>
        new(new KubernetesClientConfiguration { Host = _server.Url.ToString() }, new KubernetesResilienceHandler(options ?? Fast()));

    public void Dispose() => _server.Dispose();

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    public async Task Transient_server_errors_are_retried_until_the_call_succeeds(int status)
    {
        _server.Enqueue(status);
        _server.Enqueue(status);
        using var client = Client();

        var version = await client.Version.GetCodeAsync();

        version.GitVersion.Should().Be("v1.31.0");
        _server.Requests.Should().HaveCount(3);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(409)]
    [InlineData(422)]
    [InlineData(501)]
    public async Task Other_answers_are_not_retried(int status)
    {
        _server.Enqueue(status);
        using var client = Client();

        var act = () => client.Version.GetCodeAsync();

        (await act.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be((HttpStatusCode)status);
        _server.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task Retry_after_is_honoured()
    {
        _server.Enqueue(429, retryAfter: "1");
        using var client = Client();

        await client.Version.GetCodeAsync();

        var requests = _server.Requests.ToArray();
        requests.Should().HaveCount(2);
        (requests[1].At - requests[0].At).Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(900), "the server asked for 1 s and backoff alone is 20 ms");
    }

    [Fact]
    public async Task A_retry_after_longer_than_the_limit_is_returned_to_the_caller()
    {
        _server.Enqueue(429, retryAfter: "120");
        using var client = Client();

        var act = () => client.Version.GetCodeAsync();

        (await act.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        _server.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task Gives_up_after_the_configured_retries_and_returns_the_last_answer()
    {
        for (var i = 0; i < 10; i++)
        {
            _server.Enqueue(500);
        }

        using var client = Client();

        var act = () => client.Version.GetCodeAsync();

        (await act.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        _server.Requests.Should().HaveCount(4);
    }

    [Fact]
    public async Task Creates_are_retried_with_their_body()
    {
        _server.Enqueue(503);
        using var client = Client();
        var job = new k8s.Models.V1Job { Metadata = new k8s.Models.V1ObjectMeta { Name = "training-job-1" } };

        var act = () => client.BatchV1.CreateNamespacedJobAsync(job, "training");

        // The scripted server answers the retry with a version document, which is not a Job: what matters is the retry.
        await act.Should().NotThrowAsync<HttpOperationException>();
        _server.Requests.Select(r => r.Method).Should().Equal("POST", "POST");
        _server.Requests.Should().OnlyContain(r => r.Body.Contains("\"name\":\"training-job-1\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_slow_attempt_times_out_is_retried_and_finally_surfaces_as_a_timeout()
    {
        for (var i = 0; i < 3; i++)
        {
            _server.Enqueue(200, delay: TimeSpan.FromSeconds(30));
        }

        var options = Fast();
        options.AttemptTimeout = TimeSpan.FromMilliseconds(300);
        options.MaxRetryAttempts = 2;
        using var client = Client(options);

        var act = () => client.Version.GetCodeAsync();

        var e = (await act.Should().ThrowAsync<TaskCanceledException>()).Which;
        e.InnerException.Should().BeOfType<TimeoutException>().Which.Message.Should().Contain("3 attempt(s)").And.Contain("AttemptTimeout");
        _server.Requests.Should().HaveCount(3);
    }

    [Fact]
    public async Task Refused_connections_are_retried_then_surface_as_a_connection_error()
    {
        var closedPort = ScriptedApiServer.FreePort();
        using var client = new k8s.Kubernetes(
            new KubernetesClientConfiguration { Host = $"http://127.0.0.1:{closedPort}" },
            new KubernetesResilienceHandler(Fast()));

        var act = () => client.Version.GetCodeAsync();

        (await act.Should().ThrowAsync<HttpRequestException>()).Which.HttpRequestError.Should().Be(HttpRequestError.ConnectionError);
    }

    [Fact]
    public async Task Watches_pass_straight_through()
    {
        _server.Enqueue(500);
        using var client = Client();

        var act = () => client.BatchV1.ListNamespacedJobWithHttpMessagesAsync("training", watch: true);

        await act.Should().ThrowAsync<HttpOperationException>();
        _server.Requests.Should().ContainSingle();
    }

    [Fact]
    public void Invalid_options_are_rejected_naming_the_key()
    {
        var act = () => new KubernetesResilienceHandler(new KubernetesResilienceOptions { MaxRetryAttempts = -1, BaseDelay = TimeSpan.FromSeconds(10), MaxDelay = TimeSpan.FromSeconds(1) });

        act.Should().Throw<ArgumentException>().WithMessage("*Training:Kubernetes:Connection:Resilience:MaxRetryAttempts is -1*Training:Kubernetes:Connection:Resilience:MaxDelay*");
    }
}
