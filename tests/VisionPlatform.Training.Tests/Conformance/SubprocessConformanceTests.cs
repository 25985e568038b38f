using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Tests.Conformance;

/// <summary>The subprocess executor, with real trainer processes, against every case of the executor conformance suite.</summary>
public sealed class SubprocessConformanceTests
{
    public static TheoryData<string> Cases => new(ExecutorConformanceSuite.CasesFor(SubprocessConformanceHarness.Supported).Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Conforms(string name)
    {
        await using var harness = new SubprocessConformanceHarness();
        await ExecutorConformanceSuite.Get(name).RunAsync(harness);
    }
}
