using VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Controllers;

public class CompletionIndexesTests
{
    [Fact]
    public void Indexes_are_written_as_ordered_intervals_and_read_back()
    {
        CompletionIndexes.Format([7, 1, 3, 4, 5]).Should().Be("1,3-5,7");
        CompletionIndexes.Parse("1,3-5,7").Should().BeEquivalentTo([1, 3, 4, 5, 7]);
        CompletionIndexes.Format([]).Should().BeEmpty();
    }

    [Fact]
    public void Indexed_generate_names_are_trimmed_to_58_characters()
    {
        JobPodTemplate.GenerateNameWithIndex("train", 3).Should().Be("train-3-");
        var longName = new string('a', 60);
        JobPodTemplate.GenerateNameWithIndex(longName, 12).Should().Be(new string('a', 54) + "-12-");
    }
}
