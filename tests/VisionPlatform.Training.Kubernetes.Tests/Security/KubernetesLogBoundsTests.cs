using System.Net;
using System.Text;
using k8s;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// Issue 13, item 4 (Kubernetes side): a trainer's output cannot exhaust the backend's memory. Lines are read with the
/// subprocess executor's 1 MiB cap (<see cref="TrainingLogLine.MaxLineBytes"/>), the failure tail with a byte budget,
/// and non-following reads are streamed.
/// </summary>
[Collection(nameof(KubernetesLargeLogCollection))]
public class KubernetesLogBoundsTests
{
    private const string LongLineImage = "sim/long-line:1";
    private static readonly string LongLine = new('x', (TrainingLogLine.MaxLineBytes * 5 / 2) + 17);

    [Fact]
    public async Task A_line_longer_than_1_MiB_arrives_split_at_the_cap_when_read_and_followed()
    {
        await using var h = await WorkloadHarness.StartAsync(c =>
            c.Workloads.Images[LongLineImage] = ImageMapping.Simulated(_ => new SimulatedRun(TimeSpan.FromSeconds(1)) { Output = ["before", LongLine, "after"] }));
        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("long-line-1").Build(), new KubernetesJobOptions { Image = LongLineImage });

        var followed = await ToListAsync(h.Executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true, Timestamps = true }));
        var read = await ToListAsync(h.Executor.GetLogsAsync(run, new TrainingLogOptions { Timestamps = true }));

        foreach (var lines in new[] { followed, read })
        {
            lines.Should().OnlyContain(l => Encoding.UTF8.GetByteCount(l.Text) <= TrainingLogLine.MaxLineBytes);
            lines.Select(l => l.Text).First().Should().Be("before");
            lines.Select(l => l.Text).Last().Should().Be("after");
            var parts = lines.Skip(1).SkipLast(1).ToList();
            parts.Should().HaveCount(3, "a 2.5 MiB line is split into 1 MiB parts");
            string.Concat(parts.Select(p => p.Text)).Should().Be(LongLine, "nothing is lost or repeated");
            parts.Select(p => p.Timestamp).Distinct().Should().ContainSingle("the parts keep the line's timestamp");
            parts[0].Timestamp.Should().NotBeNull();
        }

        var tail = await ToListAsync(h.Executor.GetLogsAsync(run, new TrainingLogOptions { TailLines = 2 }));
        tail.Should().HaveCount(2);
        tail[^1].Text.Should().Be("after");
        tail[0].Text.Length.Should().BeLessThan(TrainingLogLine.MaxLineBytes, "the tail counts the parts of the long line, the last part first");
        LongLine.Should().EndWith(tail[0].Text);
    }

    [Fact]
    public async Task The_monitors_log_events_split_a_line_longer_than_1_MiB_at_the_cap()
    {
        await using var host = await MonitorHost.StartAsync(
            image: ImageMapping.Simulated(_ => new SimulatedRun(TimeSpan.FromSeconds(3)) { Output = ["before", LongLine, "after"] }),
            training: o => o.Events.MaxBufferedBytesPerSubscriber = 64L * 1024 * 1024);
        await host.WaitForSyncAsync();
        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("long-line-events").Build());
        await using var recorder = new EventRecorder(host.Events, new TrainingEventSubscription { JobId = run.JobId, IncludeLogs = true, BufferCapacity = 4096 });

        var events = await recorder.WaitForAsync(e => e.OfType<TrainingLogEvent>().Any(l => l.Line.Text == "after"), "the line after the long one");

        var texts = events.OfType<TrainingLogEvent>().Select(l => l.Line.Text).SkipWhile(t => t != "before").ToList();
        texts.Should().OnlyContain(t => Encoding.UTF8.GetByteCount(t) <= TrainingLogLine.MaxLineBytes);
        texts.Should().HaveCount(5, "before, three parts of the 2.5 MiB line, after");
        string.Concat(texts.Skip(1).Take(3)).Should().Be(LongLine);
    }

    [Fact]
    public async Task A_failed_runs_status_message_holds_a_bounded_tail_of_a_huge_last_line()
    {
        await using var h = await WorkloadHarness.StartAsync(
            c => c.Workloads.Images[LongLineImage] = ImageMapping.Simulated(_ => new SimulatedRun(TimeSpan.FromMilliseconds(300), ExitCode: 1) { Output = ["epoch 1 failed", LongLine] }),
            o => o.Job.BackoffLimit = 0);
        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("long-line-fail").Build(), new KubernetesJobOptions { Image = LongLineImage });

        var status = await h.WaitForAsync(run, s => s.Phase == TrainingPhase.Failed, "failed");

        status.Message.Should().Contain("epoch 1 failed");
        status.Message!.Length.Should().BeLessThan(16 * 1024, "the failure tail keeps each line to a few KiB, not the 2.5 MiB line");
    }

    [Fact]
    public async Task Reading_a_64_MiB_log_line_without_a_newline_keeps_managed_memory_bounded()
    {
        const long total = 64L * 1024 * 1024;
        using var server = new EndlessLogServer(total);
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.Url });
        var executor = new KubernetesTrainingExecutor(client, new TrainingJobSpecBuilder(Jobs.Options(), new VisionPlatform.Training.Trainers.FlagTrainerContract()));
        var run = new TrainingRun(KubernetesExecutorInfo.ExecutorName, EndlessLogServer.JobId, "training/" + KubernetesJobNames.FromJobId(EndlessLogServer.JobId));

        foreach (var follow in new[] { false, true })
        {
            server.Reset();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var baseline = GC.GetTotalMemory(forceFullCollection: true);
            long peak = 0;
            long chars = 0;
            var parts = 0;
            var longest = 0;
            await foreach (var line in executor.GetLogsAsync(run, new TrainingLogOptions { Follow = follow }).WithCancellation(Timeout()))
            {
                longest = Math.Max(longest, Encoding.UTF8.GetByteCount(line.Text));
                chars += line.Text.Length;
                parts++;
                // Live memory (a full collection each time): what the reader holds while a line is in hand, not garbage.
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - baseline);
            }

            peak.Should().BeLessThan(24L * 1024 * 1024, "a 64 MiB line is read in 1 MiB parts, not buffered whole (follow={0})", follow);
            longest.Should().BeLessThanOrEqualTo(TrainingLogLine.MaxLineBytes);
            chars.Should().Be(total, "every byte arrives (follow={0})", follow);
            parts.Should().BeInRange(64, 65, "64 MiB in parts of at most 1 MiB");
        }
    }

    private static async Task<List<TrainingLogLine>> ToListAsync(IAsyncEnumerable<TrainingLogLine> lines)
    {
        var list = new List<TrainingLogLine>();
        await foreach (var line in lines.WithCancellation(Timeout()))
        {
            list.Add(line);
        }

        return list;
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;

    /// <summary>
    /// A loopback API server with one finished Job and pod whose log is one line of <c>total</c> bytes and no newline,
    /// generated as it is sent (the server holds 64 KiB, so the only large memory is what the client keeps).
    /// </summary>
    private sealed class EndlessLogServer : IDisposable
    {
        public const string JobId = "endless-line";
        private readonly HttpListener _listener = new();
        private readonly long _total;
        private readonly CancellationTokenSource _stop = new();
        private int _logRequests;

        public EndlessLogServer(long total)
        {
            _total = total;
            var port = VisionPlatform.Training.Kubernetes.Tests.Routing.ScriptedApiServer.FreePort();
            Url = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Add(Url + "/");
            _listener.Start();
            _ = Task.Run(LoopAsync);
        }

        public string Url { get; }

        public void Reset() => Interlocked.Exchange(ref _logRequests, 0);

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Close();
            _stop.Dispose();
        }

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
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

                _ = Task.Run(() => AnswerAsync(context));
            }
        }

        private async Task AnswerAsync(HttpListenerContext context)
        {
            var name = KubernetesJobNames.FromJobId(JobId);
            var path = context.Request.Url!.AbsolutePath;
            var response = context.Response;
            try
            {
                if (path.EndsWith("/log", StringComparison.Ordinal))
                {
                    response.ContentType = "text/plain";
                    response.SendChunked = true;
                    if (Interlocked.Increment(ref _logRequests) > 1)
                    {
                        // A resumed read after the drain: nothing new.
                        response.Close();
                        return;
                    }

                    var chunk = new byte[64 * 1024];
                    Array.Fill(chunk, (byte)'x');
                    var prefix = Encoding.ASCII.GetBytes("2026-12-07T04:00:00.000000000Z ");
                    await response.OutputStream.WriteAsync(prefix);
                    for (long sent = 0; sent < _total; sent += chunk.Length)
                    {
                        await response.OutputStream.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, _total - sent)));
                    }

                    response.Close();
                    return;
                }

                var body = path.EndsWith("/jobs/" + name, StringComparison.Ordinal)
                    ? """{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"NAME","namespace":"training","uid":"00000000-0000-0000-0000-000000000001","annotations":{"ANNOTATION":"JOBID"}},"spec":{"selector":{"matchLabels":{"batch.kubernetes.io/controller-uid":"00000000-0000-0000-0000-000000000001"}}},"status":{"conditions":[{"type":"Complete","status":"True"}],"succeeded":1}}"""
                    : path.EndsWith("/pods", StringComparison.Ordinal)
                        ? """{"apiVersion":"v1","kind":"PodList","metadata":{},"items":[{"metadata":{"name":"NAME-abcde","namespace":"training","creationTimestamp":"2026-12-07T04:00:00Z"},"status":{"phase":"Succeeded","containerStatuses":[{"name":"trainer","state":{"terminated":{"exitCode":0}}}]}}]}"""
                        : path.EndsWith("/pods/" + name + "-abcde", StringComparison.Ordinal)
                            ? """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"NAME-abcde","namespace":"training"},"status":{"phase":"Succeeded","containerStatuses":[{"name":"trainer","state":{"terminated":{"exitCode":0}}}]}}"""
                            : null;
                body = body?.Replace("NAME", name, StringComparison.Ordinal).Replace("ANNOTATION", KubernetesLabels.JobIdAnnotation, StringComparison.Ordinal).Replace("JOBID", JobId, StringComparison.Ordinal);
                response.StatusCode = body is null ? 404 : 200;
                response.ContentType = "application/json";
                var bytes = Encoding.UTF8.GetBytes(body ?? """{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}""");
                await response.OutputStream.WriteAsync(bytes);
                response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The client went away.
            }
        }
    }
}

/// <summary>Tests that measure the process's managed memory run alone.</summary>
[CollectionDefinition(nameof(KubernetesLargeLogCollection), DisableParallelization = true)]
public sealed class KubernetesLargeLogCollection;
