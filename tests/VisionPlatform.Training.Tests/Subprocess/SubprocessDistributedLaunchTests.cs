using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Subprocess;
using VisionPlatform.Training.Tests.Routing;

namespace VisionPlatform.Training.Tests.Subprocess;

/// <summary>
/// What the subprocess executor runs for a distributed job (no process is started): torchrun's argument list, the
/// ultralytics device list, the restart option, and the refusal of several nodes, also when Kubernetes falls back to it.
/// </summary>
public sealed class SubprocessDistributedLaunchTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    internal static TrainingJobConfigBuilder TorchJob(string jobId, int epochs = 2, int nodes = 1, int? processes = 2, int gpus = 0)
    {
        var builder = new TrainingJobConfigBuilder
        {
            JobId = jobId,
            Framework = TrainingFramework.PyTorch,
            TaskType = "classification",
            ModelName = "tiny_cnn",
            DatasetPath = "synthetic",
            DatasetFormat = "generated",
            Epochs = epochs,
            Resources = new TrainingResources { Gpus = gpus },
            Distribution = new TrainingDistribution { Nodes = nodes, ProcessesPerNode = processes },
        };
        return builder;
    }

    [Fact]
    public void A_pytorch_job_of_two_processes_runs_under_torchrun_with_the_options_this_torch_needs()
    {
        var options = _ctx.NewOptions();
        options.Subprocess.Distributed.MaxRestarts = 5;
        var executor = _ctx.CreateExecutor(options);

        var plan = executor.CreateLaunchPlan(TorchJob("job-ddp-plan", processes: 2).Build());

        plan.FileName.Should().Be(SubprocessTestContext.Python, "torchrun runs as a module of the framework's interpreter");
        var runDirectory = plan.WorkingDirectory;
        var rendezvousId = plan.Arguments[plan.Arguments.ToList().IndexOf("--rdzv_id") + 1];
        plan.Arguments.Take(21).Should().Equal(
            "-m", "torch.distributed.run",
            "-r", "2",
            "-t", "2",
            "--rdzv_backend", "c10d",
            "--rdzv_endpoint", "127.0.0.1:0",
            "--rdzv_id", rendezvousId,
            "--nnodes", "1",
            "--nproc_per_node", "2",
            "--max_restarts", "5",
            "--log_dir", Path.Combine(runDirectory, "torchrun"),
            SubprocessTestContext.TrainPy);
        plan.Arguments.Skip(21).Should().StartWith(["--framework", "pytorch"]);
        rendezvousId.Should().MatchRegex("^vp-[0-9a-f]{16}$");
        executor.CreateLaunchPlan(TorchJob("job-ddp-plan").Build()).Arguments.Should().NotContain(rendezvousId, "every run has a rendezvous id of its own");
        plan.Environment.Should().Contain(v => v.Name == "CUDA_VISIBLE_DEVICES" && v.Value == "-1");
        plan.EnvironmentNames.Should().NotContain(["DEVICE", "WORLD_SIZE", "MASTER_ADDR"], "torchrun sets its workers' variables itself");
    }

    [Fact]
    public void A_gpu_job_runs_one_process_per_gpu_and_every_process_sees_the_gpus_the_run_was_given()
    {
        var options = _ctx.NewOptions();
        options.Subprocess.Gpus.Add(3);
        options.Subprocess.Gpus.Add(5);
        var executor = _ctx.CreateExecutor(options);

        var plan = executor.CreateLaunchPlan(TorchJob("job-ddp-gpus", processes: null, gpus: 2).Build());

        plan.Arguments[plan.Arguments.ToList().IndexOf("--nproc_per_node") + 1].Should().Be("2", "one process per GPU by default");
        plan.Environment.Should().ContainSingle(v => v.Name == "CUDA_VISIBLE_DEVICES").Which.Value.Should().Be("3,5", "torchrun and its workers see the run's GPUs; LOCAL_RANK picks one");
    }

    [Fact]
    public void A_single_process_job_keeps_the_direct_command()
    {
        var executor = _ctx.CreateExecutor();

        var plan = executor.CreateLaunchPlan(TorchJob("job-one", processes: 1).Build());

        plan.Arguments[0].Should().Be(SubprocessTestContext.TrainPy);
        plan.Arguments.Should().NotContain("torch.distributed.run");
    }

    [Fact]
    public void An_ultralytics_job_on_two_gpus_is_one_process_with_the_device_list_and_its_gpus_visible()
    {
        var options = _ctx.NewOptions();
        options.Subprocess.Gpus.Add(4);
        options.Subprocess.Gpus.Add(6);
        var executor = _ctx.CreateExecutor(options);
        var builder = SubprocessTestContext.Job("job-yolo-ddp");
        builder.Resources = new TrainingResources { Gpus = 2 };
        builder.Distribution = TrainingDistribution.SingleNode;
        var job = builder.Build();
        job.Launcher.Should().Be(TrainingLauncher.UltralyticsDevices);

        var plan = executor.CreateLaunchPlan(job);

        plan.Arguments[0].Should().Be(SubprocessTestContext.TrainPy, "ultralytics starts its own DDP workers");
        plan.Environment.Should().ContainSingle(v => v.Name == "DEVICE").Which.Should().Be(new SubprocessEnvironmentVariable("DEVICE", "0,1", "launcher"));
        plan.Environment.Should().ContainSingle(v => v.Name == "CUDA_VISIBLE_DEVICES").Which.Value.Should().Be("4,6");
    }

    [Fact]
    public async Task A_job_of_two_nodes_is_refused_before_anything_is_created()
    {
        var executor = _ctx.CreateExecutor();
        var job = TorchJob("job-two-nodes", nodes: 2, processes: 1).Build();

        var start = () => executor.StartAsync(job);

        var e = (await start.Should().ThrowAsync<TrainingException>()).Which;
        e.Code.Should().Be(TrainingErrorCode.Unschedulable);
        e.Message.Should().Be("Job 'job-two-nodes' cannot run on the subprocess executor: Distribution.Nodes is 2: the subprocess executor runs a job on one host, so Distribution.Nodes must be 1; run a multi-node job on the Kubernetes executor.");
        e.ExecutorName.Should().Be(TrainingExecutorNames.Subprocess);
        executor.CheckPlacement(job).Fits.Should().BeFalse();
        executor.CheckPlacement(job).Reason.Should().Contain("Distribution.Nodes is 2");
        (Directory.Exists(_ctx.RunsDirectory) ? Directory.EnumerateFileSystemEntries(_ctx.RunsDirectory).Where(p => !Path.GetFileName(p).StartsWith('.')) : []).Should().BeEmpty();
        (await executor.ListAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task When_kubernetes_is_unavailable_the_subprocess_fallback_refuses_a_two_node_job_instead_of_running_it_on_one_node()
    {
        var unavailable = new ScriptedExecutor("kubernetes")
        {
            Availability = ExecutorAvailability.Unavailable("GET /version: connection refused", DateTimeOffset.UnixEpoch),
        };
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = "kubernetes";
            o.Fallback.Executors.Add(TrainingExecutorNames.Subprocess);
            o.Availability.BackgroundRefresh = false;
            o.Subprocess.RunsDirectory = _ctx.RunsDirectory;
            o.Subprocess.Interpreter = SubprocessTestContext.Python;
            o.Subprocess.Script = SubprocessTestContext.TrainPy;
        }).AddSubprocess().AddExecutor("kubernetes", _ => unavailable);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        var subprocess = _ctx.Track(provider.GetRequiredService<SubprocessTrainingExecutor>());
        var client = provider.GetRequiredService<TrainingClient>();

        var start = () => client.StartAsync(TorchJob("job-fallback-two-nodes", nodes: 2, processes: 1).Build());

        var e = (await start.Should().ThrowAsync<TrainingException>()).Which;
        e.Code.Should().Be(TrainingErrorCode.Unschedulable);
        e.Message.Should().Contain("'kubernetes' is unavailable").And.Contain("Distribution.Nodes is 2").And.Contain("runs a job on one host");
        unavailable.StartCalls.Should().Be(0);
        (await subprocess.ListAsync()).Should().BeEmpty("the job never ran as a smaller group");

        // A one-node distributed job still falls back.
        var operation = await client.StartAsync(TorchJob("job-fallback-one-node", nodes: 1, processes: 2).Build());
        operation.IsFallback.Should().BeTrue();
        operation.ExecutorName.Should().Be(TrainingExecutorNames.Subprocess);
        await operation.StopAsync(new TrainingStopOptions { GracePeriod = TimeSpan.Zero });
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("101")]
    public void MaxRestarts_out_of_range_fails_start_up_naming_the_key(string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Training:Subprocess:Distributed:MaxRestarts"] = value,
        }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(configuration.GetSection("Training")).AddSubprocess(o => o.ValidateTrainerOnStart = false);
        using var provider = services.BuildServiceProvider();

        var read = () => provider.GetRequiredService<IOptions<TrainingOptions>>().Value;

        read.Should().Throw<OptionsValidationException>().Which.Failures.Should().Contain(
            $"Training:Subprocess:Distributed:MaxRestarts is {value}: it must be between 0 and 100 (how many times torchrun restarts the whole group of a distributed job).");
    }

    [Fact]
    public void MaxRestarts_binds_from_configuration_and_defaults_to_3()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Training:DefaultExecutor"] = "subprocess",
            ["Training:Subprocess:Distributed:MaxRestarts"] = "0",
        }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(configuration.GetSection("Training")).AddSubprocess(o => o.ValidateTrainerOnStart = false);
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IOptions<TrainingOptions>>().Value.Subprocess.Distributed.MaxRestarts.Should().Be(0);
        new TrainingOptions().Subprocess.Distributed.MaxRestarts.Should().Be(3);
    }
}
