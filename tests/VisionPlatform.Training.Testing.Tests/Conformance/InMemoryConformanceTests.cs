namespace VisionPlatform.Training.Testing.Tests.Conformance;

/// <summary>The in-memory executor passes every case of the executor conformance suite.</summary>
public sealed class InMemoryConformanceTests
{
    public static TheoryData<string> Cases => new(ExecutorConformanceSuite.CasesFor(InMemoryConformanceHarness.Supported).Select(c => c.Name));

    [Fact]
    public void Every_case_applies_to_the_in_memory_executor() =>
        ExecutorConformanceSuite.CasesFor(InMemoryConformanceHarness.Supported).Should().HaveCount(ExecutorConformanceSuite.Cases.Count);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Conforms(string name)
    {
        await using var harness = new InMemoryConformanceHarness();
        await ExecutorConformanceSuite.Get(name).RunAsync(harness);
    }
}
