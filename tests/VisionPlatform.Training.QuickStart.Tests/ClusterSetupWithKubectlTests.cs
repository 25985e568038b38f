using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster;

namespace VisionPlatform.Training.QuickStart.Tests;

/// <summary>
/// The cluster set-up a user is told to run: `--print-cluster-setup` applied with kubectl, then the kubectl commands
/// its comments print (Secret, ConfigMap, RoleBinding; typed commands that send protobuf), against the test cluster.
/// </summary>
public sealed class ClusterSetupWithKubectlTests : IAsyncLifetime
{
    private readonly string _home = Directory.CreateTempSubdirectory("vp-qs-kubectl-").FullName;
    private KubernetesTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var options = new KubernetesTestClusterOptions();
        options.Components.Clear();
        _cluster = await KubernetesTestCluster.StartAsync(options);
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(_home, recursive: true);
    }

    [Fact]
    public async Task The_printed_manifest_applies_and_every_printed_kubectl_command_works()
    {
        var printed = await QuickStartProcess.RunAsync(["--print-cluster-setup"]);
        printed.ExitCode.Should().Be(0, printed.ToString());
        var manifest = Path.Combine(_home, "cluster-setup.yaml");
        await File.WriteAllTextAsync(manifest, printed.Output);

        var applied = await Kubectl("apply", "-f", manifest);
        applied.Should().Contain("namespace/training created").And.Contain("role.rbac.authorization.k8s.io/training-executor created");

        // The commands as printed, with their placeholders filled in the way the comments ask.
        var commands = printed.Output.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("#   kubectl ", StringComparison.Ordinal))
            .Select(l => l["#   kubectl ".Length..].Replace("=...", "=value", StringComparison.Ordinal)
                .Replace("<namespace>:<backend-service-account>", "training:backend", StringComparison.Ordinal))
            .ToList();
        commands.Should().HaveCount(3, printed.Output);
        foreach (var command in commands)
        {
            (await Kubectl(command.Split(' ', StringSplitOptions.RemoveEmptyEntries))).Should().EndWith(" created");
        }

        var binding = JsonNode.Parse(await Kubectl("-n", "training", "get", "rolebinding", "training-executor", "-o", "json"))!;
        binding["roleRef"]!["name"]!.GetValue<string>().Should().Be("training-executor");
        binding["subjects"]![0]!["name"]!.GetValue<string>().Should().Be("backend");
        var secret = JsonNode.Parse(await Kubectl("-n", "training", "get", "secret", "r2-credentials", "-o", "json"))!;
        secret["data"]!.AsObject().Select(p => p.Key).Should().BeEquivalentTo("access-key", "endpoint", "secret-key");
        (await Kubectl("-n", "training", "get", "configmap", "backend-config", "-o", "jsonpath={.data.api-url}")).Should().Be("value");
    }

    private Task<string> Kubectl(params string[] arguments) => TestSupport.Kubectl.RunAsync(_cluster.WriteKubeconfig(), _home, arguments);
}
