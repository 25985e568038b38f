using System.Diagnostics;
using k8s;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Standalone;

public sealed class StandaloneTests
{
    [Fact]
    public async Task Standalone_server_prints_url_and_kubeconfig_and_stops_on_sigterm()
    {
        var port = FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "VisionPlatform.Training.Kubernetes.TestCluster.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { dll, "--port", port.ToString(), "--api-only" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var first = await process.StandardOutput.ReadLineAsync(cts.Token);
            var second = await process.StandardOutput.ReadLineAsync(cts.Token);
            first.Should().Be($"Kubernetes test cluster listening on http://127.0.0.1:{port}");
            second.Should().StartWith("kubeconfig: ");
            var kubeconfig = second!["kubeconfig: ".Length..];

            using var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
            (await client.CoreV1.ListNamespaceAsync(cancellationToken: cts.Token)).Items.Should().Contain(n => n.Metadata.Name == "default");

            Process.Start("kill", ["-TERM", process.Id.ToString()])!.WaitForExit();
            await process.WaitForExitAsync(cts.Token);
            process.ExitCode.Should().Be(0);
            File.Exists(kubeconfig).Should().BeFalse("the data directory is deleted on exit");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static int FreePort() => VisionPlatform.Training.TestSupport.TestPorts.Reserve();
}
