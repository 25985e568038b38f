using VisionPlatform.Training.Testing;


namespace VisionPlatform.Training.Tests.Jobs;

public class TrainingJobConfigBuilderTests
{
    internal static TrainingJobConfigBuilder Valid() => SampleJobs.YoloBuilder("job-1", epochs: 10);

    [Fact]
    public void Build_reports_every_problem_at_once_with_field_value_and_rule()
    {
        var builder = new TrainingJobConfigBuilder
        {
            JobId = "",
            Framework = "Not A Framework",
            TaskType = null,
            ModelName = "m",
            DatasetPath = "d",
            DatasetFormat = "yolo",
            Epochs = 0,
            BatchSize = -1,
            LearningRate = double.NaN,
            Resume = true,
            AdvancedConfig = "[1,2]",
            Resources = new TrainingResources { Gpus = 65, CpuRequest = "4", CpuLimit = "2", MemoryRequest = "1GB" },
        };
        builder.Environment["BAD NAME"] = "x";
        builder.Environment["CUDA_VISIBLE_DEVICES"] = "0";
        builder.Labels["team"] = "not valid!";

        var act = () => builder.Build();

        var errors = act.Should().Throw<TrainingValidationException>().Which.Errors;
        errors.Select(e => e.Field).Should().BeEquivalentTo(
            "JobId", "Framework", "TaskType", "Epochs", "BatchSize", "LearningRate", "Resume", "AdvancedConfig",
            "Resources.Gpus", "Resources.CpuRequest", "Resources.MemoryRequest", "Environment[BAD NAME]",
            "Environment[CUDA_VISIBLE_DEVICES]", "Labels[team]");
        errors.Single(e => e.Field == "Epochs").ToString().Should().Be("Epochs: value '0' is invalid: must be between 1 and 100000");
        errors.Single(e => e.Field == "Resources.CpuRequest").Rule.Should().Contain("less than or equal to Resources.CpuLimit");
        errors.Single(e => e.Field == "AdvancedConfig").Rule.Should().Contain("JSON object");
    }

    [Fact]
    public void Valid_config_is_built_with_defaults_and_a_stable_hash()
    {
        var a = Valid().Build();
        var b = Valid().Build();

        a.Epochs.Should().Be(10);
        a.Optimizer.Should().Be("adam");
        a.ConfigHash.Should().HaveLength(64).And.Be(b.ConfigHash);
        var changed = a.ToBuilder();
        changed.Epochs = 11;
        changed.Build().ConfigHash.Should().NotBe(a.ConfigHash);
    }

    [Theory]
    [InlineData("500m", true)]
    [InlineData("2", true)]
    [InlineData("8Gi", true)]
    [InlineData("1e3", true)]
    [InlineData("1GB", false)]
    [InlineData("-1", false)]
    [InlineData("abc", false)]
    public void Quantities_follow_kubernetes_syntax(string quantity, bool valid)
    {
        var builder = Valid();
        builder.Resources = new TrainingResources { MemoryLimit = quantity };
        builder.Validate().Any(e => e.Field == "Resources.MemoryLimit").Should().Be(!valid);
    }

    [Fact]
    public void Validation_errors_do_not_echo_environment_values()
    {
        var builder = Valid();
        builder.Environment["TOKEN"] = "super-secret\0value";
        var ex = Assert.Throws<TrainingValidationException>(() => builder.Build());
        ex.Message.Should().NotContain("super-secret");
    }
}
