using System.Diagnostics;
using System.Text.RegularExpressions;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Standalone;

/// <summary>
/// The standalone server's workload flags driven as a person would: kubectl against <c>--passthrough</c> and
/// <c>--gpu-node</c>, and the one-line errors (exit 2) for bad values.
/// </summary>
public sealed partial class StandaloneWorkloadFlagsTests : IDisposable
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "VisionPlatform.Training.Kubernetes.TestCluster.dll");

    private readonly string _home = Directory.CreateTempSubdirectory("vp-kubectl-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task With_passthrough_a_job_from_kubectl_runs_its_own_shell_command_and_kubectl_logs_shows_its_output()
    {
        using var process = Start("--port", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture), "--passthrough", "--gpu-node", "gpu-a=2");
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            (await process.StandardOutput.ReadLineAsync(cts.Token)).Should().StartWith("Kubernetes test cluster listening on ");
            var kubeconfig = (await process.StandardOutput.ReadLineAsync(cts.Token))!["kubeconfig: ".Length..];
            Task<string> Kubectl(params string[] arguments) => TestSupport.Kubectl.RunAsync(kubeconfig, _home, arguments);

            // kubectl create job sends a protobuf Job, which the cluster does not decode: its manifest goes through apply -f
            var manifest = Path.Combine(_home, "hi.yaml");
            await File.WriteAllTextAsync(manifest, await Kubectl("create", "job", "hi", "--image=busybox", "--dry-run=client", "-o", "yaml", "--", "/bin/sh", "-c", "echo hi"), cts.Token);
            (await Kubectl("apply", "-f", manifest)).Should().Be("job.batch/hi created");
            (await Kubectl("wait", "--for=condition=complete", "job/hi", "--timeout=60s")).Should().Be("job.batch/hi condition met");
            (await Kubectl("logs", "job/hi")).Should().Be("hi");

            var events = (await Kubectl("get", "events", "--field-selector", "involvedObject.kind=Pod", "-o", "custom-columns=REASON:.reason,FROM:.source.component"))
                .Split('\n').Skip(1).Select(l => Columns().Split(l.Trim())).ToList();
            events.Select(e => e[0]).Should().Equal("Scheduled", "Pulling", "Pulled", "Created", "Started");
            events.Select(e => e[1]).Should().Equal("default-scheduler", "kubelet", "kubelet", "kubelet", "kubelet");

            (await Kubectl("get", "node", "gpu-a", "-o", @"jsonpath={.status.allocatable.nvidia\.com/gpu} {.spec.taints[0].key}"))
                .Should().Be("2 nvidia.com/gpu");
            (await Kubectl("get", "nodes", "-o", "name")).Split('\n').Should().Equal("node/gpu-a", "node/node-1");

            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            await process.WaitForExitAsync(cts.Token);
            process.ExitCode.Should().Be(0);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Theory]
    [InlineData("--image busybox", "--image busybox: expected IMAGE=PROGRAM with both parts non-empty (e.g. python:3.12=/usr/bin/python3)")]
    [InlineData("--image busybox=/nonexistent/sh", "--image busybox=/nonexistent/sh: PROGRAM must be an existing absolute path or a name found on PATH")]
    [InlineData("--image busybox=sh --image busybox=sh", "--image busybox=sh: busybox is mapped twice; give each image once")]
    [InlineData("--image", "--image needs a value: IMAGE=PROGRAM (e.g. --image python:3.12=/usr/bin/python3)")]
    [InlineData("--image-arg -u", "--image-arg -u: must follow an --image IMAGE=PROGRAM (it adds an argument to that program)")]
    [InlineData("--gpu-node gpu-1=0", "--gpu-node gpu-1=0: COUNT must be a whole number from 1 to 128")]
    [InlineData("--gpu-node node-1", "--gpu-node node-1: a node named node-1 already exists; give each node once")]
    [InlineData("--port 70000", "--port needs a port number from 0 to 65535 (0 picks a free one)")]
    public async Task A_bad_flag_exits_2_with_one_line_naming_the_flag_and_the_rule(string arguments, string error)
    {
        using var process = Start(arguments.Split(' '));
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
            var stderr = process.StandardError.ReadToEndAsync(cts.Token);
            await process.WaitForExitAsync(cts.Token);
            process.ExitCode.Should().Be(2);
            (await stderr).Should().Be(error + "\n");
            (await stdout).Should().BeEmpty();
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task A_gpu_node_name_that_is_not_a_dns_subdomain_is_refused_with_the_naming_rule()
    {
        using var process = Start("--gpu-node", "GPU_1");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stderr = await process.StandardError.ReadToEndAsync(cts.Token);
        await process.WaitForExitAsync(cts.Token);
        process.ExitCode.Should().Be(2);
        stderr.Should().StartWith("--gpu-node GPU_1: NAME: a lowercase RFC 1123 subdomain must consist of").And.EndWith("\n");
        stderr.TrimEnd('\n').Should().NotContain("\n");
    }

    [Fact]
    public async Task Help_describes_the_workload_flags()
    {
        using var process = Start("--help");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = await process.StandardOutput.ReadToEndAsync(cts.Token);
        await process.WaitForExitAsync(cts.Token);
        process.ExitCode.Should().Be(0);
        stdout.Should().Contain("--image IMAGE=PROGRAM").And.Contain("--image-arg ARG").And.Contain("--passthrough").And.Contain("--gpu-node NAME[=COUNT]");
    }

    private static Process Start(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    private static int FreePort() => VisionPlatform.Training.TestSupport.TestPorts.Reserve();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Columns();
}
