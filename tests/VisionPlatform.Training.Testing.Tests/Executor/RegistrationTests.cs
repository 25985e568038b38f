using Microsoft.Extensions.DependencyInjection;

namespace VisionPlatform.Training.Testing.Tests.Executor;

public class RegistrationTests
{
    [Fact]
    public async Task A_test_host_runs_jobs_on_the_in_memory_executor_through_the_manager()
    {
        var clock = TestJobs.Clock();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddTrainingExecutors(o => o.DefaultExecutor = "in-memory").AddInMemoryExecutor();
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        var executor = provider.GetRequiredService<ITrainingExecutor>();
        var run = await executor.StartAsync(TestJobs.Config());
        var memory = provider.GetInMemoryExecutor();
        memory.SetRunning(run);
        clock.Advance(TimeSpan.FromSeconds(7));
        memory.Complete(run, 0);

        executor.Should().BeOfType<TrainingExecutorManager>();
        run.ExecutorName.Should().Be("in-memory");
        memory.Should().BeSameAs(provider.GetRequiredService<InMemoryTrainingExecutor>());
        memory.StartedJobs.Should().ContainSingle();
        var status = await executor.GetStatusAsync(run);
        status.Phase.Should().Be(TrainingPhase.Succeeded);
        status.FinishedAt.Should().Be(TestJobs.Epoch.AddSeconds(7), "the executor uses the container's TimeProvider");
    }

    [Fact]
    public async Task Options_configure_the_registered_executor()
    {
        var clock = TestJobs.Clock();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddTrainingExecutors(o => o.DefaultExecutor = "in-memory")
            .AddInMemoryExecutor(configure: o =>
            {
                o.AutoComplete = true;
                o.AutoCompleteDelay = TimeSpan.FromMinutes(2);
            });
        await using var provider = services.BuildServiceProvider();
        var executor = provider.GetRequiredService<ITrainingExecutor>();

        var run = await executor.StartAsync(TestJobs.Config());
        clock.Advance(TimeSpan.FromMinutes(2));

        (await executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Fact]
    public void Invalid_options_fail_at_registration_naming_the_option()
    {
        var builder = new ServiceCollection().AddTrainingExecutors(o => o.DefaultExecutor = TrainingExecutorNames.Subprocess).AddSubprocess();

        var act = () => builder.AddInMemoryExecutor(configure: o => o.AutoCompleteDelay = TimeSpan.FromDays(2));

        act.Should().Throw<ArgumentException>().WithMessage("*InMemoryExecutorOptions.AutoCompleteDelay*");
    }

    [Fact]
    public async Task Several_names_get_their_own_executors_and_runs_are_routed_by_their_handle()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = "kubernetes")
            .AddInMemoryExecutor("kubernetes")
            .AddInMemoryExecutor("subprocess");
        await using var provider = services.BuildServiceProvider();
        var manager = provider.GetRequiredService<TrainingExecutorManager>();
        var kubernetes = provider.GetInMemoryExecutor("kubernetes");
        var subprocess = provider.GetInMemoryExecutor("subprocess");

        var onDefault = await manager.StartAsync(TestJobs.Config("a"));
        var onFallback = await manager.StartAsync(TestJobs.Config("b"), "subprocess");
        subprocess.Complete(onFallback, 1);

        kubernetes.Should().NotBeSameAs(subprocess);
        manager.ExecutorNames.Should().Contain(["kubernetes", "subprocess"]);
        onDefault.ExecutorName.Should().Be("kubernetes");
        onFallback.ExecutorName.Should().Be("subprocess");
        kubernetes.StartedJobs.Select(c => c.JobId).Should().Equal("a");
        subprocess.StartedJobs.Select(c => c.JobId).Should().Equal("b");
        (await manager.GetStatusAsync(onFallback)).Phase.Should().Be(TrainingPhase.Failed);
        (await manager.FindAsync("b")).Should().Be(onFallback);
        (await manager.ListAsync()).Select(s => s.JobId).Should().BeEquivalentTo(["a", "b"]);
    }

    [Fact]
    public async Task An_in_memory_executor_stands_in_for_a_real_executor_of_the_same_name()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = "real")
            .AddExecutor("real", _ => new OtherExecutor())
            .AddInMemoryExecutor("REAL");
        await using var provider = services.BuildServiceProvider();
        var manager = provider.GetRequiredService<TrainingExecutorManager>();

        var run = await manager.StartAsync(TestJobs.Config());
        var standIn = provider.GetInMemoryExecutor("real");

        standIn.Should().BeSameAs(provider.GetRequiredService<InMemoryTrainingExecutor>());
        standIn.StartedJobs.Should().ContainSingle();
        run.ExecutorName.Should().Be("real", "handles look like the real executor's");
        manager.ExecutorNames.Count(n => n.Equals("real", StringComparison.OrdinalIgnoreCase)).Should().Be(1);
        standIn.Complete(run, 0);
        (await manager.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Fact]
    public async Task The_built_in_subprocess_executor_can_be_replaced_so_a_test_host_touches_no_processes()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = TrainingExecutorNames.Subprocess).AddInMemoryExecutor(TrainingExecutorNames.Subprocess);
        await using var provider = services.BuildServiceProvider();
        var executor = provider.GetRequiredService<ITrainingExecutor>();

        var run = await executor.StartAsync(TestJobs.Config());

        run.ExecutorName.Should().Be(TrainingExecutorNames.Subprocess);
        provider.GetInMemoryExecutor(TrainingExecutorNames.Subprocess).StartedJobs.Should().ContainSingle();
        (await executor.ListAsync()).Should().ContainSingle().Which.Run.Should().Be(run);
    }

    [Fact]
    public async Task Registering_the_same_name_twice_is_harmless()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = "in-memory").AddInMemoryExecutor().AddInMemoryExecutor();
        services.AddTrainingExecutors(o => o.DefaultExecutor = TrainingExecutorNames.Subprocess).AddInMemoryExecutor("in-memory", o => o.AutoComplete = true);
        await using var provider = services.BuildServiceProvider();

        var manager = provider.GetRequiredService<TrainingExecutorManager>();
        var run = await manager.StartAsync(TestJobs.Config());

        manager.ExecutorNames.Should().Equal(TrainingExecutorNames.Subprocess, "in-memory"); // the built-in one, and the double once
        (await manager.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Pending, "the first registration's options apply");
    }

    [Fact]
    public async Task GetInMemoryExecutor_explains_a_missing_or_foreign_executor()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = TrainingExecutorNames.Subprocess).AddSubprocess().AddExecutor("other", _ => new OtherExecutor());
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetInMemoryExecutor()).Should().Throw<InvalidOperationException>()
            .WithMessage("*No training executor named 'in-memory'*AddInMemoryExecutor*");
        FluentActions.Invoking(() => provider.GetInMemoryExecutor("other")).Should().Throw<InvalidOperationException>()
            .WithMessage("*'other' is a OtherExecutor, not an InMemoryTrainingExecutor*");
    }

    private sealed class OtherExecutor : ITrainingExecutor
    {
        private readonly InMemoryTrainingExecutor _inner = new("other");

        public string Name => _inner.Name;

        public Task<TrainingRun> StartAsync(TrainingJobConfig config, CancellationToken cancellationToken = default) => _inner.StartAsync(config, cancellationToken);

        public Task<TrainingRunStatus> GetStatusAsync(TrainingRun run, CancellationToken cancellationToken = default) => _inner.GetStatusAsync(run, cancellationToken);

        public IAsyncEnumerable<TrainingRunStatus> WatchAsync(TrainingRun run, CancellationToken cancellationToken = default) => _inner.WatchAsync(run, cancellationToken);

        public IAsyncEnumerable<TrainingLogLine> GetLogsAsync(TrainingRun run, TrainingLogOptions? options = null, CancellationToken cancellationToken = default) => _inner.GetLogsAsync(run, options, cancellationToken);

        public Task<TrainingRunStatus> StopAsync(TrainingRun run, TrainingStopOptions? options = null, CancellationToken cancellationToken = default) => _inner.StopAsync(run, options, cancellationToken);

        public Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query = null, CancellationToken cancellationToken = default) => _inner.ListAsync(query, cancellationToken);

        public Task<TrainingRun?> FindAsync(string jobId, CancellationToken cancellationToken = default) => _inner.FindAsync(jobId, cancellationToken);

        public Task<ExecutorAvailability> CheckAvailabilityAsync(CancellationToken cancellationToken = default) => _inner.CheckAvailabilityAsync(cancellationToken);
    }
}
