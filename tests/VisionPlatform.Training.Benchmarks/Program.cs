// Benchmarks: dotnet run -c Release --project tests/VisionPlatform.Training.Benchmarks -- <scenario> [--runs N] [--size-mb M]
// Each scenario prints `name: value` lines on stdout (notes go to stderr). Ratios are medians of per-pair ratios,
// each pair measuring the SDK and its baseline back to back in the same process, alternating which goes first.
using VisionPlatform.Training.Benchmarks;
using VisionPlatform.Training.Benchmarks.Children;
using VisionPlatform.Training.Benchmarks.Scenarios;

// hidden sub-commands: the scenarios' child processes (test cluster, pollers, a busy core); see ChildEntry
if (ChildEntry.IsChild(args))
{
    return await ChildEntry.RunAsync(args);
}

// The dispatch table: add a scenario here (for example `submit` for the Kubernetes executor).
IBenchmarkScenario[] scenarios =
[
    new SpawnScenario(),
    new LogsScenario(),
    new SubmitScenario(),
    new MonitorScenario(),
    new DistributedScenario(),
    new QueueScenario(),
];

if (args.Length == 0 || args[0] is "--help" or "-h")
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project tests/VisionPlatform.Training.Benchmarks -- <scenario> [--runs N] [--size-mb M] [--warmup N] [--tracked N] [--wait-each 0|1] [--memory-only 0|1] [--busy 0|1] [--baselines 0|1] [--concurrent N] [--inproc 0|1]");
    foreach (var s in scenarios)
    {
        Console.Error.WriteLine($"  {s.Name,-10} {s.Description}");
    }

    return args.Length == 0 ? 2 : 0;
}

var scenario = Array.Find(scenarios, s => s.Name == args[0]);
if (scenario is null)
{
    Console.Error.WriteLine($"{args[0]}: unknown scenario (known: {string.Join(", ", scenarios.Select(s => s.Name))})");
    return 2;
}

BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args[1..]);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // the scenario stops its child processes as it unwinds; a second Ctrl+C does not wait for that
    if (cts.IsCancellationRequested)
    {
        ChildProcess.KillAll();
    }

    e.Cancel = true;
    cts.Cancel();
};

Console.WriteLine($"scenario: {scenario.Name}");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
Console.WriteLine($"machine.load_avg_start: {LoadAverage()}");
IReadOnlyList<BenchmarkResult> results;
try
{
    results = await scenario.RunAsync(options, Console.Error, cts.Token);
}
catch (OperationCanceledException) when (cts.IsCancellationRequested)
{
    // the scenario has stopped its child processes on the way out
    Console.Error.WriteLine($"{scenario.Name}: cancelled");
    return 130;
}

foreach (var result in results)
{
    Console.WriteLine(result);
}

Console.WriteLine($"machine.load_avg_end: {LoadAverage()}");

return 0;

// the 1, 5 and 15 minute load averages (Linux), so every result carries how busy the machine was
static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
