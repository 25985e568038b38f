using System.Globalization;
using System.Runtime.InteropServices;
using VisionPlatform.Training.Kubernetes.TestCluster;

// Standalone test cluster: `dotnet run --project tests/VisionPlatform.Training.Kubernetes.TestCluster -- --port 6443`
// prints the URL and a kubeconfig path, then runs until Ctrl+C.
var options = new KubernetesTestClusterOptions();
var workloadFlags = new VisionPlatform.Training.Kubernetes.TestCluster.Standalone.StandaloneFlags(options);
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--port" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535:
            options.Port = port;
            i++;
            break;
        case "--port":
            Console.Error.WriteLine("--port needs a port number from 0 to 65535 (0 picks a free one)");
            return 2;
        case "--namespace" when i + 1 < args.Length:
            options.Namespaces.Add(args[++i]);
            break;
        case "--namespace":
            Console.Error.WriteLine("--namespace needs a namespace name");
            return 2;
        case "--api-only":
            options.Components.Clear();
            break;
        case var flag when VisionPlatform.Training.Kubernetes.TestCluster.Standalone.StandaloneFlags.Handles(flag):
            if (workloadFlags.Apply(args, ref i) is { } error)
            {
                Console.Error.WriteLine(error);
                return 2;
            }

            break;
        case "--help" or "-h":
            Console.WriteLine("usage: TestCluster [--port <port>] [--namespace <ns>]... [--api-only] [--image IMAGE=PROGRAM [--image-arg ARG]...]... [--passthrough] [--gpu-node NAME[=COUNT]]...");
            Console.WriteLine(VisionPlatform.Training.Kubernetes.TestCluster.Standalone.StandaloneFlags.Help);
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
