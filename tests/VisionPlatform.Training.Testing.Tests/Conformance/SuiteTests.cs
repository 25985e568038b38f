namespace VisionPlatform.Training.Testing.Tests.Conformance;

/// <summary>The catalogue itself, and that a case catches an executor that breaks the contract.</summary>
public sealed class SuiteTests
{
    [Fact]
    public void Cases_have_unique_names_descriptions_and_are_found_by_name()
    {
        var cases = ExecutorConformanceSuite.Cases;
        cases.Select(c => c.Name).Should().OnlyHaveUniqueItems();
        cases.Should().OnlyContain(c => c.Description.Length > 0 && c.ToString() == c.Name);
        ExecutorConformanceSuite.Get(cases[0].Name).Should().BeSameAs(cases[0]);
        FluentActions.Invoking(() => ExecutorConformanceSuite.Get("No_such_case"))
            .Should().Throw<ArgumentException>().WithMessage("*No_such_case*Start_returns_a_run_naming_the_executor_and_job*");
    }

    [Fact]
    public void Cases_that_need_a_capability_are_left_out_for_an_executor_without_it()
    {
        var basic = ExecutorConformanceSuite.CasesFor(ExecutorConformanceCapabilities.None).Select(c => c.Name).ToList();
        basic.Should().NotContain(["Start_after_the_record_expired_creates_a_new_run", "Invalid_job_is_rejected_before_anything_starts"]);
        basic.Should().Contain("Start_after_stop_returns_the_stopped_run");
        ExecutorConformanceSuite.CasesFor(ExecutorConformanceCapabilities.ExpireRecords).Select(c => c.Name)
            .Should().Contain("Start_after_the_record_expired_creates_a_new_run").And.NotContain("Invalid_job_is_rejected_before_anything_starts");
    }

    [Fact]
    public async Task A_case_needing_a_capability_the_harness_lacks_says_so()
    {
        await using var harness = new WithoutCapabilities();
        var act = () => ExecutorConformanceSuite.Get("Start_after_the_record_expired_creates_a_new_run").RunAsync(harness);
        await act.Should().ThrowAsync<ConformanceException>().WithMessage("*needs the capabilities ExpireRecords*declares None*CasesFor*");
    }

    [Fact]
    public async Task An_executor_that_forgets_a_stopped_run_fails_with_a_message_naming_the_case_and_the_rule()
    {
        await using var harness = new InMemoryConformanceHarness();
        await using var forgetful = new Forgetful(harness);
        var act = () => ExecutorConformanceSuite.Get("Find_by_job_id_returns_the_run").RunAsync(forgetful);
        await act.Should().ThrowAsync<ConformanceException>()
            .WithMessage("[Find_by_job_id_returns_the_run] executor 'in-memory': FindAsync does not return the run after it was stopped.");
    }

    /// <summary>The in-memory executor, except that FindAsync forgets finished runs.</summary>
    private sealed class Forgetful(InMemoryConformanceHarness inner) : ExecutorConformanceHarness, ITrainingExecutor
    {
        public override ITrainingExecutor Executor => this;

        public override ITrainingEventSource Events => inner.Events;

        public string Name => inner.Executor.Name;

        public override TrainingJobConfig CreateJob(ConformanceJobRequest request) => inner.CreateJob(request);

        public Task<TrainingRun> StartAsync(TrainingJobConfig config, CancellationToken cancellationToken = default) => inner.Executor.StartAsync(config, cancellationToken);

        public Task<TrainingRunStatus> GetStatusAsync(TrainingRun run, CancellationToken cancellationToken = default) => inner.Executor.GetStatusAsync(run, cancellationToken);

        public IAsyncEnumerable<TrainingRunStatus> WatchAsync(TrainingRun run, CancellationToken cancellationToken = default) => inner.Executor.WatchAsync(run, cancellationToken);

        public IAsyncEnumerable<TrainingLogLine> GetLogsAsync(TrainingRun run, TrainingLogOptions? options = null, CancellationToken cancellationToken = default) => inner.Executor.GetLogsAsync(run, options, cancellationToken);

        public Task<TrainingRunStatus> StopAsync(TrainingRun run, TrainingStopOptions? options = null, CancellationToken cancellationToken = default) => inner.Executor.StopAsync(run, options, cancellationToken);

        public Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query = null, CancellationToken cancellationToken = default) => inner.Executor.ListAsync(query, cancellationToken);

        public async Task<TrainingRun?> FindAsync(string jobId, CancellationToken cancellationToken = default)
        {
            var run = await inner.Executor.FindAsync(jobId, cancellationToken);
            return run is not null && (await inner.Executor.GetStatusAsync(run, cancellationToken)).IsTerminal ? null : run;
        }

        public Task<ExecutorAvailability> CheckAvailabilityAsync(CancellationToken cancellationToken = default) => inner.Executor.CheckAvailabilityAsync(cancellationToken);

        protected override ValueTask DisposeAsyncCore() => ValueTask.CompletedTask;
    }

    private sealed class WithoutCapabilities : ExecutorConformanceHarness
    {
        private readonly InMemoryTrainingExecutor _executor = new();

        public override ITrainingExecutor Executor => _executor;

        public override ITrainingEventSource Events => throw new NotSupportedException();

        public override TrainingJobConfig CreateJob(ConformanceJobRequest request) => SampleJobs.ForConformance(request).Build();

        protected override ValueTask DisposeAsyncCore()
        {
            _executor.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
