using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Kubernetes.Tests.Conformance;

/// <summary>
/// The Kubernetes executor, registered through DI with its run monitor running, against every case of the executor
/// conformance suite on the in-process test cluster (real API server, Job controller, TTL controller, node agent running
/// the demo trainer as local processes).
/// </summary>
public sealed class KubernetesConformanceTests
{
    public static TheoryData<string> Cases => new(ExecutorConformanceSuite.CasesFor(KubernetesConformanceHarness.Supported).Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Conforms(string name)
    {
        await using var harness = await KubernetesConformanceHarness.StartAsync();
        await ExecutorConformanceSuite.Get(name).RunAsync(harness);
    }
}
