using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;
using VisionPlatform.Training.TestSupport;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>A host with the Kubernetes monitor sees a 2-node torch group as one run, with rank 0's progress.</summary>
[Collection(nameof(TorchGroupCollection))]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DistributedMonitorTests
{
    [Fact]
    public async Task A_two_node_group_is_one_run_whose_progress_comes_from_rank_0()
    {
        await PyTorchRequirement.EnsureAsync();
        var port = TestPorts.Reserve();
        var controlPort = TestPorts.Reserve();

        await using var host = await MonitorHost.StartAsync(
            image: ImageMapping.PythonTrainer(WorkloadHarness.TorchScript, PyTorchRequirement.Interpreter),
            executor: o =>
            {
                o.Job.RendezvousPort = port;
                o.Job.GroupControlPort = controlPort;
            });
        await host.WaitForSyncAsync();
        var config = Jobs.Config("mon-group", TrainingFramework.PyTorch).Apply(b =>
        {
            b.ModelName = "tiny_cnn";
            b.ImageSize = 16;
            b.NumClasses = 4;
            b.Epochs = 3;
            b.AdvancedConfig = """{"samples": 64, "epoch_seconds": 0.5}""";
            b.Resources = new TrainingResources { CpuRequest = "100m", CpuLimit = "1", MemoryRequest = "64Mi", MemoryLimit = "2Gi" };
            b.Distribution = new TrainingDistribution { Nodes = 2, ProcessesPerNode = 1 };
        }).Build();

        var run = await host.Executor.StartAsync(config);
        await using var recorder = new EventRecorder(host.Events, new TrainingEventSubscription { JobId = run.JobId, BufferCapacity = 4096 });
        await recorder.WaitForAsync(e => e.OfType<TrainingPhaseChangedEvent>().Any(p => p.Status.IsTerminal), "the group to finish", TimeSpan.FromSeconds(180));
        var events = await recorder.WaitForAsync(e => e.OfType<TrainingProgressEvent>().Any(p => p.Progress.Epoch == 3), "rank 0's last progress", TimeSpan.FromSeconds(30));

        var phases = events.OfType<TrainingPhaseChangedEvent>().Select(p => p.Status).ToList();
        phases[^1].Phase.Should().Be(TrainingPhase.Succeeded, phases[^1].Message);
        phases.Should().OnlyContain(s => s.Run == run && s.Attempt == 1, "the two pods are one run and one attempt");
        phases.Select(s => s.Phase).Should().NotContain(TrainingPhase.Failed);
        events.OfType<TrainingProgressEvent>().Select(p => p.Progress.Epoch).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems().And.Contain(3);
    }
}

/// <summary>Tests that run torch groups share the machine's two cores: one at a time.</summary>
[CollectionDefinition(nameof(TorchGroupCollection), DisableParallelization = true)]
public sealed class TorchGroupCollection;
