using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Samples.RemoteExecutor.Tests.Conformance;

/// <summary>The outside-src remote executor, over real HTTP with real trainer processes, against every case of the executor conformance suite.</summary>
public sealed class RemoteConformanceTests
{
    public static TheoryData<string> Cases => new(ExecutorConformanceSuite.CasesFor(RemoteConformanceHarness.Supported).Select(c => c.Name));

    [Fact]
    public void Every_case_of_the_suite_applies()
    {
        ExecutorConformanceSuite.CasesFor(RemoteConformanceHarness.Supported).Should().HaveCount(ExecutorConformanceSuite.Cases.Count);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Conforms(string name)
    {
        await using var harness = await RemoteConformanceHarness.StartAsync();
        await ExecutorConformanceSuite.Get(name).RunAsync(harness);
    }
}
