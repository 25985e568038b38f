using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using VisionPlatform.Training.Benchmarks.Scenarios;

namespace VisionPlatform.Training.Benchmarks.Children;

/// <summary>
/// The hidden sub-commands a scenario starts this program with (<see cref="ChildProcess"/>). Each prints
/// <c>ready [detail]</c>, answers one line per command line on stdin, and exits when stdin closes.
/// </summary>
internal static class ChildEntry
{
    public static bool IsChild(string[] args) => args.Length > 0 && args[0].StartsWith("__", StringComparison.Ordinal);

    public static async Task<int> RunAsync(string[] args)
    {
        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        Console.CancelKeyPress += (_, e) =>
        {
            // the parent handles Ctrl+C and closes our stdin; do not die before it asks
            e.Cancel = true;
        };

        try
        {
            return args[0] switch
            {
                "__cluster" => await ClusterAsync(args, stop.Token),
                "__poll" => await PollAsync(args, stop.Token),
                "__spin" => Spin(),
                _ => throw new ArgumentException($"unknown sub-command {args[0]}"),
            };
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
    }

    /// <summary><c>__cluster api|workload &lt;watch history&gt;</c>: the test cluster, commands as <see cref="ClusterControl.HandleAsync"/>.</summary>
    private static async Task<int> ClusterAsync(string[] args, CancellationToken cancellationToken)
    {
        var profile = Enum.Parse<ClusterProfile>(args[1], ignoreCase: true);
        var history = int.Parse(args[2], CultureInfo.InvariantCulture);
        await using var control = await ClusterControl.StartAsync(profile, history, cancellationToken);
        Console.WriteLine($"ready {control.Url}");
        await ServeAsync(async (line, token) => await control.HandleAsync(line, token), cancellationToken);
        return 0;
    }

    /// <summary><c>__poll &lt;url&gt; &lt;namespace&gt; &lt;interval ms&gt;</c>: the baseline pollers (<see cref="MonitorPollers"/>).</summary>
    private static async Task<int> PollAsync(string[] args, CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromMilliseconds(int.Parse(args[3], CultureInfo.InvariantCulture));
        await using var pollers = new MonitorPollers(new Uri(args[1]), args[2], interval);
        Console.WriteLine("ready");
        await ServeAsync(
            async (line, _) =>
            {
                var parts = line.Split(' ');
                switch (parts[0])
                {
                    case "start":
                        pollers.Start();
                        return "ok";
                    case "job":
                        pollers.Track(parts[1], parts[2]);
                        return null;
                    case "stop":
                        return JsonSerializer.Serialize(await pollers.StopAsync());
                    default:
                        throw new InvalidOperationException($"unknown command '{parts[0]}'");
                }
            },
            cancellationToken);
        return 0;
    }

    /// <summary><c>__spin</c>: keeps one CPU core busy until stdin closes (the busy variant's background load).</summary>
    private static int Spin()
    {
        var spinning = true;
        var thread = new Thread(() =>
        {
            ulong n = 0;
            while (Volatile.Read(ref spinning))
            {
                n++;
            }

            GC.KeepAlive(n);
        })
        { IsBackground = true, Name = "spin" };
        thread.Start();
        Console.WriteLine("ready");
        while (Console.In.ReadLine() is not null)
        {
            // nothing to answer; stdin closing is the signal to stop
        }

        Volatile.Write(ref spinning, false);
        thread.Join();
        return 0;
    }

    /// <summary>Reads command lines until stdin closes; writes each answer (null = none) or <c>error message</c>.</summary>
    private static async Task ServeAsync(Func<string, CancellationToken, Task<string?>> handle, CancellationToken cancellationToken)
    {
        var input = Console.In;
        while (await input.ReadLineAsync(cancellationToken) is { } line)
        {
            string? answer;
            try
            {
                answer = await handle(line, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                answer = "error " + ex.Message.ReplaceLineEndings(" ");
            }

            if (answer is not null)
            {
                Console.WriteLine(answer);
            }
        }
    }
}
