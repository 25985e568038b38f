using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>The availability check's deadline runs on the executor's <see cref="TimeProvider"/>, not the system clock.</summary>
public sealed class AvailabilityClockTests : IDisposable
{
    private readonly TcpListener _silent = new(IPAddress.Loopback, 0);
    private readonly List<TcpClient> _accepted = [];

    public AvailabilityClockTests() => _silent.Start();

    public void Dispose()
    {
        _silent.Stop();
        foreach (var client in _accepted)
        {
            client.Dispose();
        }
    }

    [Fact]
    public async Task A_server_that_never_answers_is_unavailable_when_the_injected_clock_passes_the_timeout()
    {
        var port = ((IPEndPoint)_silent.LocalEndpoint).Port;
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var executor = new KubernetesTrainingExecutor(
            Jobs.Builder(o =>
            {
                o.Connection.Host = $"http://127.0.0.1:{port}";
                o.Connection.AvailabilityTimeout = TimeSpan.FromMinutes(2);
                // Only the availability deadline may end the call: no attempt timeout, no client timeout within the test.
                o.Connection.RequestTimeout = TimeSpan.FromMinutes(30);
                o.Connection.Resilience.AttemptTimeout = TimeSpan.FromMinutes(10);
            }),
            clock);

        var check = executor.CheckAvailabilityAsync();
        // The request is in flight once the server holds its connection (accepted, never answered).
        var accept = _silent.AcceptTcpClientAsync();
        _accepted.Add(await accept.WaitAsync(TimeSpan.FromSeconds(60)));
        check.IsCompleted.Should().BeFalse("the server never answers and the injected clock has not moved");

        clock.Advance(TimeSpan.FromMinutes(3));

        // Minutes of real time would pass before a system-clock deadline fired; the injected one fires at once.
        var availability = await check.WaitAsync(TimeSpan.FromSeconds(60));
        availability.IsAvailable.Should().BeFalse();
        availability.Reason.Should().Contain("did not answer /version within 00:02:00");
        availability.CheckedAt.Should().Be(clock.GetUtcNow());
    }
}
