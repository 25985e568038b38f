using System.Globalization;

namespace VisionPlatform.Training.Benchmarks;

/// <summary>Common options: <c>--runs N</c> (paired runs; runs for monitor and queue), <c>--size-mb M</c> (logs), <c>--warmup N</c>, <c>--tracked N</c>, <c>--wait-each 0|1</c>, <c>--memory-only 0|1</c>, <c>--busy 0|1</c>, <c>--baselines 0|1</c> (monitor), <c>--concurrent N</c> (submit), <c>--inproc 0|1</c> (monitor, submit, queue).</summary>
internal sealed record BenchmarkOptions
{
    public int? Runs { get; init; }

    public int? SizeMb { get; init; }

    public int Warmup { get; init; } = 2;

    /// <summary>monitor: how many runs the memory measurement tracks (default 10,000).</summary>
    public int? Tracked { get; init; }

    /// <summary>monitor: 1 adds one <c>WaitForCompletionAsync</c> per run besides the all-runs subscriber (default 0).</summary>
    public bool WaitEach { get; init; }

    /// <summary>monitor: 1 measures only the memory of the tracked runs, without driving runs to the end (default 0).</summary>
    public bool MemoryOnly { get; init; }

    /// <summary>monitor, submit, queue: 1 runs the test cluster in this process (before issue 15); default 0: in a child process.</summary>
    public bool InProcessCluster { get; init; }

    /// <summary>monitor: 0 skips the second run beside one busy CPU core (default 1).</summary>
    public bool Busy { get; init; } = true;

    /// <summary>monitor: 0 skips the per-job and list polling baselines (default 1).</summary>
    public bool Baselines { get; init; } = true;

    /// <summary>submit: concurrent StartAsync calls after the pairs (default 1,000; 0 skips them).</summary>
    public int? Concurrent { get; init; }

    public static BenchmarkOptions Parse(IReadOnlyList<string> args)
    {
        var options = new BenchmarkOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"{name}: needs a value");
            }

            var value = args[++i];
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 0)
            {
                throw new ArgumentException($"{name}: '{value}' is not a whole number of at least 0");
            }

            options = name switch
            {
                "--runs" when n >= 1 => options with { Runs = n },
                "--size-mb" when n >= 1 => options with { SizeMb = n },
                "--warmup" => options with { Warmup = n },
                "--tracked" when n >= 1 => options with { Tracked = n },
                "--wait-each" when n <= 1 => options with { WaitEach = n == 1 },
                "--memory-only" when n <= 1 => options with { MemoryOnly = n == 1 },
                "--inproc" when n <= 1 => options with { InProcessCluster = n == 1 },
                "--busy" when n <= 1 => options with { Busy = n == 1 },
                "--baselines" when n <= 1 => options with { Baselines = n == 1 },
                "--concurrent" => options with { Concurrent = n },
                "--wait-each" or "--memory-only" or "--inproc" or "--busy" or "--baselines" => throw new ArgumentException($"{name}: must be 0 or 1"),
                "--runs" or "--size-mb" or "--tracked" => throw new ArgumentException($"{name}: must be at least 1"),
                _ => throw new ArgumentException($"{name}: unknown option (use --runs, --size-mb, --warmup, --tracked, --wait-each, --memory-only, --inproc, --busy, --baselines, --concurrent)"),
            };
        }

        return options;
    }
}
