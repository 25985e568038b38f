using Microsoft.Extensions.DependencyInjection;
using VisionPlatform.Training.Subprocess;
using VisionPlatform.Training.Testing;
using VisionPlatform.Training.TestSupport;
using VisionPlatform.Training.Tests.Subprocess;

namespace VisionPlatform.Training.Tests.Conformance;

/// <summary>
/// The subprocess executor as a host registers it, running the demo trainer (samples/trainer/train.py) as real child
/// processes in a temporary runs directory. The trainer's behaviour comes from its knobs in <c>advanced_config</c>; the
/// host hands out no GPUs, so a job asking for one is refused; a run's record expires as retention would remove it: its
/// run directory is deleted.
/// </summary>
internal sealed class SubprocessConformanceHarness : ExecutorConformanceHarness
{
    private readonly SubprocessTestContext _context = new();
    private readonly ServiceProvider _provider;

    public SubprocessConformanceHarness()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o =>
        {
            o.Subprocess.RunsDirectory = _context.RunsDirectory;
            o.Subprocess.Interpreter = SubprocessTestContext.Python;
            o.Subprocess.Script = SubprocessTestContext.TrainPy;
            o.Subprocess.MaxConcurrentRuns = 4;
            o.Subprocess.StopGracePeriod = TimeSpan.FromSeconds(10);
            o.DefaultExecutor = TrainingExecutorNames.Subprocess;
        }).AddSubprocess();
        _provider = services.BuildServiceProvider();
        Executor = _context.Track(_provider.GetRequiredService<SubprocessTrainingExecutor>());
        Events = _provider.GetRequiredService<ITrainingEventSource>();
    }

    public static ExecutorConformanceCapabilities Supported => ExecutorConformanceCapabilities.All;

    public override ITrainingExecutor Executor { get; }

    public override ITrainingEventSource Events { get; }

    public override ExecutorConformanceCapabilities Capabilities => Supported;

    public override TrainingJobConfig CreateJob(ConformanceJobRequest request)
    {
        return DemoTrainerJobs.For(request).Build();
    }

    public override ConformanceRejectedJob CreateRejectedJob(string jobId)
    {
        var builder = SampleJobs.YoloBuilder(jobId);
        builder.Resources = new TrainingResources { Gpus = 1 };
        return new ConformanceRejectedJob(builder.Build(), "Resources.Gpus");
    }

    public override Task ExpireRunAsync(TrainingRun run, CancellationToken cancellationToken = default)
    {
        // What Training:Subprocess:RunRetention does to a finished run: its run directory goes.
        Directory.Delete(Path.Combine(_context.RunsDirectory, run.ResourceId), recursive: true);
        return Task.CompletedTask;
    }

    protected override async ValueTask DisposeAsyncCore()
    {
        await _context.DisposeAsync();
        await _provider.DisposeAsync();
    }
}
