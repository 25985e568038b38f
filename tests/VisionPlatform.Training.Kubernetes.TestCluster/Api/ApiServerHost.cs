using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.TestCluster.Faults;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>
/// Runs the API server's handler in Kestrel on 127.0.0.1 (plain HTTP/1.1, which KubernetesClient downgrades to
/// over http). Can stop listening and start again on the same port, to simulate an unreachable server.
/// </summary>
internal sealed class ApiServerHost(RequestDelegate handler, ILoggerFactory? loggerFactory) : IListenerControl, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private WebApplication? _app;
    private int _port;

    public Uri Url => new($"http://127.0.0.1:{_port}");

    public bool IsStopped => _app is null;

    public async Task StartAsync(int port, CancellationToken cancellationToken)
    {
        _port = port;
        await StartListeningAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task StartListeningAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_app is not null)
            {
                return;
            }

            // Rebinding the port just released can briefly fail; try a few times before giving up.
            for (var attempt = 1; ; attempt++)
            {
                var app = Build(_port);
                try
                {
                    await app.StartAsync(cancellationToken).ConfigureAwait(false);
                    _port = new Uri(app.Urls.First()).Port;
                    _app = app;
                    return;
                }
                catch (IOException) when (attempt < 20 && _port != 0)
                {
                    await app.DisposeAsync().ConfigureAwait(false);
                    await Task.Delay(100, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task StopListeningAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_app is null)
            {
                return;
            }

            var app = _app;
            _app = null;
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopListeningAsync(CancellationToken.None).ConfigureAwait(false);
        _gate.Dispose();
    }

    private WebApplication Build(int port)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Listen(IPAddress.Loopback, port);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));

        // The cluster is a library inside someone else's process: it must not hook Ctrl+C or SIGTERM.
        builder.Services.AddSingleton<IHostLifetime, PassiveLifetime>();
        if (loggerFactory is not null)
        {
            builder.Services.AddSingleton(loggerFactory);
        }

        var app = builder.Build();
        app.Run(handler);
        return app;
    }

    private sealed class PassiveLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
