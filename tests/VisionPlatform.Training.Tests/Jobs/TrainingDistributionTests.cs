using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Tests.Jobs;

public class TrainingDistributionTests
{
    private static TrainingJobConfigBuilder Torch(int gpus = 0, TrainingDistribution? distribution = null)
    {
        var b = SampleJobs.YoloBuilder("dist-1", epochs: 2);
        b.Framework = TrainingFramework.PyTorch;
        b.Resources = new TrainingResources { Gpus = gpus };
        b.Distribution = distribution;
        return b;
    }

    [Fact]
    public void Without_a_distribution_a_job_is_one_process_that_sees_all_its_gpus()
    {
        var config = Torch(gpus: 4).Build();

        config.Distribution.Should().BeNull();
        config.Nodes.Should().Be(1);
        config.ProcessesPerNode.Should().Be(1);
        config.WorldSize.Should().Be(1);
        config.IsDistributed.Should().BeFalse();
        config.Launcher.Should().Be(TrainingLauncher.Direct);
    }

    [Fact]
    public void A_distribution_runs_one_process_per_gpu_on_every_node_under_torchrun()
    {
        var config = Torch(gpus: 4, new TrainingDistribution { Nodes = 2 }).Build();

        config.Nodes.Should().Be(2);
        config.ProcessesPerNode.Should().Be(4);
        config.WorldSize.Should().Be(8);
        config.IsDistributed.Should().BeTrue();
        config.Launcher.Should().Be(TrainingLauncher.TorchRun);
        config.ToString().Should().Contain("Nodes = 2, ProcessesPerNode = 4");
    }

    [Theory]
    [InlineData("timm")]
    [InlineData("huggingface")]
    [InlineData("transformers")]
    [InlineData("my-custom")]
    public void Every_framework_but_ultralytics_uses_torchrun(string framework)
    {
        var b = Torch(distribution: new TrainingDistribution { ProcessesPerNode = 2 });
        b.Framework = framework;

        b.Build().Launcher.Should().Be(TrainingLauncher.TorchRun);
    }

    [Fact]
    public void A_cpu_job_with_a_distribution_defaults_to_one_process_per_node()
    {
        var config = Torch(gpus: 0, new TrainingDistribution { Nodes = 3 }).Build();

        config.ProcessesPerNode.Should().Be(1);
        config.WorldSize.Should().Be(3);
        config.Launcher.Should().Be(TrainingLauncher.TorchRun);
    }

    [Fact]
    public void A_single_process_distribution_is_not_distributed_and_keeps_the_hash()
    {
        var plain = Torch().Build();
        var single = Torch(distribution: TrainingDistribution.SingleNode).Build();

        single.IsDistributed.Should().BeFalse();
        single.Launcher.Should().Be(TrainingLauncher.Direct);
        single.ConfigHash.Should().Be(plain.ConfigHash);
    }

    [Fact]
    public void The_hash_tells_group_shapes_apart_and_round_trips_through_the_builder()
    {
        var a = Torch(gpus: 2, new TrainingDistribution { Nodes = 2 }).Build();
        var b = Torch(gpus: 2, new TrainingDistribution { Nodes = 2, ProcessesPerNode = 1 }).Build();

        a.ConfigHash.Should().NotBe(b.ConfigHash);
        a.ToBuilder().Build().ConfigHash.Should().Be(a.ConfigHash);
        a.ToBuilder().Build().Distribution.Should().Be(new TrainingDistribution { Nodes = 2 });
    }

    [Fact]
    public void Every_broken_distribution_rule_is_named_at_once()
    {
        var b = Torch(gpus: 2, new TrainingDistribution { Nodes = 0, ProcessesPerNode = 3 });

        var errors = b.Invoking(x => x.Build()).Should().Throw<TrainingValidationException>().Which.Errors;

        errors.Select(e => e.ToString()).Should().BeEquivalentTo(
            "Distribution.Nodes: value '0' is invalid: must be between 1 and 64",
            "Distribution.ProcessesPerNode: value '3' is invalid: must be at most Resources.Gpus (2), the GPUs per node: each process of a GPU job gets a GPU of its own");
    }

    [Theory]
    [InlineData(65, null, "Distribution.Nodes")]
    [InlineData(1, 0, "Distribution.ProcessesPerNode")]
    [InlineData(1, 65, "Distribution.ProcessesPerNode")]
    public void Out_of_range_sizes_are_refused(int nodes, int? processes, string field)
    {
        var b = Torch(distribution: new TrainingDistribution { Nodes = nodes, ProcessesPerNode = processes });

        b.Validate().Should().ContainSingle().Which.Field.Should().Be(field);
    }

    [Fact]
    public void Ultralytics_runs_one_node_with_one_worker_per_gpu_from_a_device_list()
    {
        var b = SampleJobs.YoloBuilder("yolo-ddp", epochs: 2);
        b.Resources = new TrainingResources { Gpus = 4 };
        b.Distribution = new TrainingDistribution();

        var config = b.Build();

        config.Launcher.Should().Be(TrainingLauncher.UltralyticsDevices);
        config.WorldSize.Should().Be(4);
    }

    [Fact]
    public void Ultralytics_refuses_several_nodes_and_a_partial_device_list_with_its_rule()
    {
        var b = SampleJobs.YoloBuilder("yolo-ddp", epochs: 2);
        b.Resources = new TrainingResources { Gpus = 4 };
        b.Distribution = new TrainingDistribution { Nodes = 2, ProcessesPerNode = 2 };

        var errors = b.Validate();

        errors.Should().HaveCount(2);
        errors.Single(e => e.Field == "Distribution.Nodes").Rule.Should().Be(
            "must be 1 for ultralytics: it starts its own DDP workers from a device list on one node and does not support several nodes");
        errors.Single(e => e.Field == "Distribution.ProcessesPerNode").Rule.Should().Be(
            "must equal Resources.Gpus (4) for ultralytics: it starts one DDP worker per GPU in its device list");
    }

    [Fact]
    public void Ultralytics_refuses_several_cpu_processes()
    {
        var b = SampleJobs.YoloBuilder("yolo-cpu", epochs: 2);
        b.Distribution = new TrainingDistribution { ProcessesPerNode = 2 };

        b.Validate().Should().ContainSingle().Which.Rule.Should().StartWith("must be 1 for a CPU-only ultralytics job");
    }

    [Theory]
    [InlineData("MASTER_ADDR")]
    [InlineData("WORLD_SIZE")]
    [InlineData("PET_NNODES")]
    [InlineData("TORCHELASTIC_RESTART_COUNT")]
    [InlineData("JOB_COMPLETION_INDEX")]
    [InlineData("VP_GROUP_CONTROL_PORT")]
    [InlineData("VP_GROUP_STOP_SECONDS")]
    public void A_distributed_job_may_not_set_the_launchers_variables(string name)
    {
        var b = Torch(distribution: new TrainingDistribution { Nodes = 2 });
        b.Environment[name] = "1";

        var error = b.Validate().Should().ContainSingle().Subject;

        error.Field.Should().Be($"Environment[{name}]");
        error.Rule.Should().Be("is set by the executor and the launcher (torchrun) for every process of a distributed job; a job may not set it");
        error.Value.Should().BeNull("environment values are never echoed");
    }

    [Fact]
    public void A_single_process_job_may_still_set_those_names()
    {
        var b = Torch();
        b.Environment["WORLD_SIZE"] = "1";

        b.Validate().Should().BeEmpty();
    }
}
