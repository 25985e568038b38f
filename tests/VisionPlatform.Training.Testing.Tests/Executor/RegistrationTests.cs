using Microsoft.Extensions.DependencyInjection;

namespace VisionPlatform.Training.Testing.Tests.Executor;

public class RegistrationTests
{
    [Fact]
    public async Task A_test_host_runs_jobs_on_the_in_memory_executor_through_the_client()
    {
        var clock = TestJobs.Clock();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddTrainingExecutors(o => o.DefaultExecutor = "in-memory").AddInMemoryExecutor();
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        var client = provider.GetRequiredService<TrainingClient>();
        var operation = await client.StartAsync(TestJobs.Config());
        var run = operation.Run;
        var memory = provider.GetInMemoryExecutor();
        memory.SetRunning(run);
        clock.Advance(TimeSpan.FromSeconds(7));
        memory.Complete(run, 0);

        provider.GetService<ITrainingExecutor>().Should().BeNull("the host injects the client; executors are keyed by name");
        run.ExecutorName.Should().Be("in-memory");
        memory.Should().BeSameAs(provider.GetRequiredService<InMemoryTrainingExecutor>());
        memory.StartedJobs.Should().ContainSingle();
        var status = await operation.UpdateStatusAsync();
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
        var client = provider.GetRequiredService<TrainingClient>();

        var operation = await client.StartAsync(TestJobs.Config());
        clock.Advance(TimeSpan.FromMinutes(2));

        (await operation.UpdateStatusAsync()).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Fact]
    public void Invalid_options_fail_at_registration_naming_the_option()
    {
        var builder = new ServiceCollection().AddTrainingExecutors(o => o.DefaultExecutor = InMemoryTrainingExecutor.DefaultName);

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
        var client = provider.GetRequiredService<TrainingClient>();
        var kubernetes = provider.GetInMemoryExecutor("kubernetes");
        var subprocess = provider.GetInMemoryExecutor("subprocess");

        var onDefault = await client.StartAsync(TestJobs.Config("a"));
        var onOther = await client.StartAsync(TestJobs.Config("b"), new TrainingStartOptions { Executor = "subprocess" });
        subprocess.Complete(onOther.Run, 1);

        kubernetes.Should().NotBeSameAs(subprocess);
        client.ExecutorNames.Should().Contain(["kubernetes", "subprocess"]);
        onDefault.ExecutorName.Should().Be("kubernetes");
        onOther.ExecutorName.Should().Be("subprocess");
        kubernetes.StartedJobs.Select(c => c.JobId).Should().Equal("a");
        subprocess.StartedJobs.Select(c => c.JobId).Should().Equal("b");
        (await client.GetOperation(onOther.Id).UpdateStatusAsync()).Phase.Should().Be(TrainingPhase.Failed);
        (await client.FindAsync("b"))!.Run.Should().Be(onOther.Run);
        (await client.ListAsync()).Select(s => s.JobId).Should().BeEquivalentTo(["a", "b"]);
    }

    [Fact]
    public async Task An_in_memory_executor_stands_in_for_a_real_executor_of_the_same_name()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = "real")
            .AddExecutor("real", _ => new OtherExecutor())
            .AddInMemoryExecutor("REAL");
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<TrainingClient>();

        var operation = await client.StartAsync(TestJobs.Config());
        var standIn = provider.GetInMemoryExecutor("real");

        standIn.Should().BeSameAs(provider.GetRequiredService<InMemoryTrainingExecutor>());
        standIn.StartedJobs.Should().ContainSingle();
        operation.ExecutorName.Should().Be("real", "handles look like the real executor's");
        client.ExecutorNames.Count(n => n.Equals("real", StringComparison.OrdinalIgnoreCase)).Should().Be(1);
        standIn.Complete(operation.Run, 0);
        (await operation.UpdateStatusAsync()).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Fact]
    public async Task The_subprocess_executor_can_be_replaced_so_a_test_host_touches_no_processes()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = TrainingExecutorNames.Subprocess)
            .AddSubprocess()
            .AddInMemoryExecutor(TrainingExecutorNames.Subprocess);
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<TrainingClient>();

        var operation = await client.StartAsync(TestJobs.Config());

        operation.ExecutorName.Should().Be(TrainingExecutorNames.Subprocess);
        provider.GetInMemoryExecutor(TrainingExecutorNames.Subprocess).StartedJobs.Should().ContainSingle();
        (await client.ListAsync()).Should().ContainSingle().Which.Run.Should().Be(operation.Run);
    }

    [Fact]
    public async Task Registering_the_same_name_twice_is_harmless()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = "in-memory").AddInMemoryExecutor().AddInMemoryExecutor();
        services.AddTrainingExecutors().AddInMemoryExecutor("in-memory", o => o.AutoComplete = true);
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<TrainingClient>();
        var operation = await client.StartAsync(TestJobs.Config());

        client.ExecutorNames.Should().Equal("in-memory"); // no executor is built in, and the double is registered once
        (await operation.UpdateStatusAsync()).Phase.Should().Be(TrainingPhase.Pending, "the first registration's options apply");
    }

    [Fact]
    public async Task GetInMemoryExecutor_explains_a_missing_or_foreign_executor()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = "other").AddExecutor("other", _ => new OtherExecutor());
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
