using System.Globalization;
using System.Runtime.InteropServices;
using VisionPlatform.Training.Kubernetes.TestCluster;

// Standalone test cluster: `dotnet run --project tests/VisionPlatform.Training.Kubernetes.TestCluster -- --port 6443`
// prints the URL and a kubeconfig path, then runs until Ctrl+C.
var options = new KubernetesTestClusterOptions();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--port" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var port):
            options.Port = port;
            i++;
            break;
        case "--namespace" when i + 1 < args.Length:
            options.Namespaces.Add(args[++i]);
            break;
        case "--api-only":
            options.Components.Clear();
            break;
        case "--help" or "-h":
            Console.WriteLine("usage: TestCluster [--port <port>] [--namespace <ns>]... [--api-only]");
            return 0;
        default:
            Console.Error.WriteLine($"unknown argument: {args[i]} (try --help)");
            return 2;
    }
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

await using var cluster = await KubernetesTestCluster.StartAsync(options, stop.Token);
Console.WriteLine($"Kubernetes test cluster listening on {cluster.Url.ToString().TrimEnd('/')}");
Console.WriteLine($"kubeconfig: {cluster.WriteKubeconfig()}");
Console.WriteLine("Press Ctrl+C to stop.");
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
    Console.WriteLine("stopping");
}

return 0;
