using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VisionPlatform.Training.Storage;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// A host (AddTrainingExecutors().AddKubernetes(...)) with an <see cref="IRunLogArchive"/> registered, against a test cluster
/// running the demo trainer, over a real KubernetesClient whose handler can break pod log follows mid-stream.
/// </summary>
internal sealed class LogArchiveHost : IAsyncDisposable
{
    private readonly List<IHostedService> _started = [];
    private readonly k8s.Kubernetes _client;

    private readonly bool _ownsCluster;

    private LogArchiveHost(ClusterHarness cluster, bool ownsCluster, ServiceProvider provider, k8s.Kubernetes client, LogStreamBreaker breaker)
    {
        Cluster = cluster;
        _ownsCluster = ownsCluster;
        Provider = provider;
        _client = client;
        Breaker = breaker;
    }

    public ClusterHarness Cluster { get; }

    public ServiceProvider Provider { get; }

    public LogStreamBreaker Breaker { get; }

    public KubernetesRunMonitor Monitor => Provider.GetRequiredService<KubernetesRunMonitor>();

    public ITrainingExecutor Executor => Provider.GetRequiredKeyedService<ITrainingExecutor>(KubernetesExecutorInfo.ExecutorName);

    /// <param name="archive">The archive to register, or none.</param>
    /// <param name="executor">Option changes.</param>
    /// <param name="cluster">Another host's cluster (as after a restart; this host does not dispose it), or null for a new one.</param>
    public static async Task<LogArchiveHost> StartAsync(IRunLogArchive? archive, Action<KubernetesExecutorOptions>? executor = null, ClusterHarness? cluster = null)
    {
        var harness = cluster ?? await WorkloadHarness.StartAsync();
        var breaker = new LogStreamBreaker();
        var client = new k8s.Kubernetes(harness.Cluster.CreateClientConfiguration(), breaker);
        var services = new ServiceCollection();
        if (archive is not null)
        {
            services.AddSingleton(archive);
        }

        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(_ => client, o =>
        {
            o.Image.Registry = "registry.example.com/vision";
            o.Image.Tag = "1.4.0";
            o.PollInterval = TimeSpan.FromMilliseconds(200);
            o.Monitor.BackoffBase = TimeSpan.FromMilliseconds(100);
            o.Monitor.BackoffMax = TimeSpan.FromSeconds(1);
            o.Monitor.ReevaluateInterval = TimeSpan.FromMilliseconds(500);
            o.Logs.FlushInterval = TimeSpan.FromMilliseconds(300);
            executor?.Invoke(o);
        });
        var host = new LogArchiveHost(harness, cluster is null, services.BuildServiceProvider(), client, breaker);
        try
        {
            foreach (var service in host.Provider.GetServices<IHostedService>())
            {
                await service.StartAsync(CancellationToken.None);
                host._started.Add(service);
            }

            await Eventually.GetAsync(() => Task.FromResult(host.Provider.GetRequiredService<KubernetesRunMonitor>().IsSynced), synced => synced, "the monitor to sync");
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        return host;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            await _started[i].StopAsync(CancellationToken.None);
        }

        await Provider.DisposeAsync();
        _client.Dispose();
        if (_ownsCluster)
        {
            await Cluster.DisposeAsync();
        }
    }
}

/// <summary>
/// Breaks the next pod log follows (<c>follow=true</c>) after a number of lines: the response body ends with an
/// <see cref="IOException"/>, as a dropped connection does.
/// </summary>
internal sealed class LogStreamBreaker : DelegatingHandler
{
    private int _remaining;
    private int _afterLines;
    private int _broken;
    private volatile bool _failLeases;

    public int Broken => Volatile.Read(ref _broken);

    /// <summary>Whether every request for a coordination.k8s.io Lease fails (503), as when this host is cut off from the API server.</summary>
    public bool FailLeases
    {
        get => _failLeases;
        set => _failLeases = value;
    }

    public void BreakNext(int count, int afterLines)
    {
        Volatile.Write(ref _afterLines, afterLines);
        Volatile.Write(ref _remaining, count);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (_failLeases && request.RequestUri!.AbsolutePath.Contains("/apis/coordination.k8s.io/", StringComparison.Ordinal))
        {
            return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { RequestMessage = request, Content = new StringContent("cut off (test fault)") };
        }

        var response = await base.SendAsync(request, cancellationToken);
        var uri = request.RequestUri!;
        if (response.StatusCode != HttpStatusCode.OK || !uri.AbsolutePath.EndsWith("/log", StringComparison.Ordinal) ||
            !uri.Query.Contains("follow=true", StringComparison.Ordinal) || Interlocked.Decrement(ref _remaining) < 0)
        {
            return response;
        }

        var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var broken = new StreamContent(new BreakingStream(body, Volatile.Read(ref _afterLines), () => Interlocked.Increment(ref _broken)));
        foreach (var header in response.Content.Headers)
        {
            broken.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        response.Content = broken;
        return response;
    }

    /// <summary>Passes bytes through until <c>lines</c> newlines went by, then throws as a dropped connection would.</summary>
    private sealed class BreakingStream(Stream inner, int lines, Action broke) : Stream
    {
        private int _left = lines;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_left <= 0)
            {
                broke();
                throw new IOException("The log stream was cut (test fault).");
            }

            // One byte at a time once close to the cut, so the cut lands exactly after a newline.
            var read = await inner.ReadAsync(buffer[..1], cancellationToken);
            if (read == 1 && buffer.Span[0] == (byte)'\n')
            {
                _left--;
            }

            return read;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
