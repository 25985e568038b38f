namespace VisionPlatform.Training.Tests.Jobs;

/// <summary>
/// The config hash is stored on every Kubernetes Job (the config-hash annotation) and compared on a repeated start: the
/// bytes it is computed from must never change, or a restarted backend would call its own running Jobs conflicts.
/// </summary>
public sealed class TrainingJobConfigHashTests
{
    [Fact]
    public void The_hash_of_a_known_config_is_stable_across_versions()
    {
        var builder = new TrainingJobConfigBuilder
        {
            JobId = "golden-1",
            Framework = TrainingFramework.Ultralytics,
            TaskType = "object_detection",
            ModelName = "yolo11n",
            DatasetPath = "datasets/coco8",
            DatasetFormat = "yolo",
            Epochs = 5,
            Resources = new TrainingResources { Gpus = 1 },
        };
        builder.Environment["ZETA"] = "1";
        builder.Environment["ALPHA"] = "é ü";
        builder.Environment["MID"] = "x";
        builder.Labels["team"] = "vision";
        builder.Labels["cost-center"] = "42";

        builder.Build().ConfigHash.Should().Be("fbd21f3d9cc8a7fe9e682cf6a0f946b72cb6f5151a780880eb8565c7f95ad652");
    }

    [Fact]
    public void The_hash_of_a_config_without_maps_is_stable_across_versions()
    {
        Plain("golden-2").Build().ConfigHash.Should().Be("31d378dda69d899c68bf0e992dbf1713796280251d96bfdc9b479d6220b4bd04");
    }

    [Fact]
    public void Hashes_computed_one_after_another_on_one_thread_do_not_leak_into_each_other()
    {
        // The hash reuses one buffer per thread: a large config followed by a small one must hash the small one alone.
        var builder = Plain("large");
        builder.AdvancedConfig = "{\"notes\": \"" + new string('x', 100_000) + "\"}";
        var large = builder.Build();
        _ = large.ConfigHash;

        Plain("golden-2").Build().ConfigHash.Should().Be("31d378dda69d899c68bf0e992dbf1713796280251d96bfdc9b479d6220b4bd04");
        large.ToBuilder().Build().ConfigHash.Should().Be(large.ConfigHash);
    }

    private static TrainingJobConfigBuilder Plain(string jobId) => new()
    {
        JobId = jobId,
        Framework = TrainingFramework.Timm,
        TaskType = "classification",
        ModelName = "resnet50",
        DatasetPath = "d",
        DatasetFormat = "imagefolder",
    };
}
