using System.Net;
using k8s;
using k8s.Autorest;
using VisionPlatform.Training.Kubernetes.TestCluster.Api;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>The executor's API calls against the test cluster's API server (no controllers).</summary>
public class ExecutorApiTests
{
    [Fact]
    public async Task Start_is_one_create_request_and_the_job_is_stored_as_built()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var config = Jobs.Config().Build();
        h.Cluster.Requests.Clear();

        var run = await h.Executor.StartAsync(config);

        h.Cluster.Requests.Entries.Should().ContainSingle().Which.Should().Match<RequestLogEntry>(e => e.Verb == "create" && e.Resource == "jobs" && e.StatusCode == 201);
        run.ExecutorName.Should().Be("kubernetes");
        run.ResourceId.Should().Be("training/training-job-job-42");
        var stored = (await h.JobsAsync()).Single();
        stored.Metadata.Annotations[KubernetesLabels.ConfigHashAnnotation].Should().Be(config.ConfigHash);
        stored.Spec.Template.Spec.Containers[0].Args.Should().Contain("--job_id");
    }

    [Fact]
    public async Task Starting_the_same_config_again_returns_the_existing_run()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var first = await h.Executor.StartAsync(Jobs.Config().Build());

        var second = await h.NewExecutor().StartAsync(Jobs.Config().Build());

        second.Should().Be(first);
        (await h.JobsAsync()).Should().ContainSingle();
    }

    [Fact]
    public async Task Starting_a_different_config_with_the_same_job_id_is_a_conflict()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        await h.Executor.StartAsync(Jobs.Config().Build());

        var act = () => h.Executor.StartAsync(Jobs.Config().Apply(b => b.Epochs = 99).Build());

        var error = (await act.Should().ThrowAsync<TrainingException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.JobConflict);
        error.Message.Should().Contain("job-42").And.Contain("different configuration");
    }

    [Fact]
    public async Task A_job_with_the_derived_name_but_another_job_id_is_a_conflict_not_the_same_run()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var other = Jobs.Builder().Build(Jobs.Config().Build());
        other.Metadata.Annotations[KubernetesLabels.JobIdAnnotation] = "someone-else";
        await h.Client.BatchV1.CreateNamespacedJobAsync(other, "training");

        var act = () => h.Executor.StartAsync(Jobs.Config().Build());

        (await act.Should().ThrowAsync<TrainingException>()).Which.Message.Should().Contain("someone-else");
        (await h.Executor.FindAsync("job-42")).Should().BeNull();
    }

    [Fact]
    public async Task Twenty_concurrent_starts_of_one_job_id_create_one_job()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var executors = Enumerable.Range(0, 4).Select(_ => h.NewExecutor()).ToList();

        var runs = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => executors[i % 4].StartAsync(Jobs.Config().Build()))));

        runs.Distinct().Should().ContainSingle();
        (await h.JobsAsync()).Should().ContainSingle();
        h.Cluster.Requests.CountWhere(e => e.Verb == "create" && e.StatusCode == 201).Should().Be(1);
        executors.ForEach(e => e.Dispose());
    }

    [Fact]
    public async Task A_run_is_found_by_job_id_from_a_new_executor_and_listed_by_label()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var a = await h.Executor.StartAsync(Jobs.Config("JOB_A.1").Build());
        var b = await h.Executor.StartAsync(Jobs.Config("job-b").Apply(c => { c.ProjectId = "other"; c.Labels["team"] = "vision"; }).Build());

        var restarted = h.NewExecutor();
        (await restarted.FindAsync("JOB_A.1")).Should().Be(a);
        (await restarted.FindAsync("nope")).Should().BeNull();

        var all = await restarted.ListAsync();
        all.Select(s => s.Run).Should().BeEquivalentTo([a, b]);
        all.Should().OnlyContain(s => s.Phase == TrainingPhase.Pending);
        (await restarted.ListAsync(new TrainingRunQuery { ProjectId = "other" })).Select(s => s.Run).Should().Equal(b);
        (await restarted.ListAsync(new TrainingRunQuery { Labels = new Dictionary<string, string> { ["team"] = "vision" } })).Select(s => s.Run).Should().Equal(b);
        (await restarted.ListAsync(new TrainingRunQuery { Phases = [TrainingPhase.Running] })).Should().BeEmpty();
        restarted.Dispose();
    }

    [Fact]
    public async Task Stop_records_the_stop_on_the_job_with_preconditions_and_keeps_the_job()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var config = Jobs.Config().Build();
        var run = await h.Executor.StartAsync(config);
        var before = (await h.JobsAsync()).Single();
        h.Cluster.Requests.Clear();

        var stopped = await h.Executor.StopAsync(run);

        stopped.Phase.Should().Be(TrainingPhase.Stopped);
        stopped.Reason.Should().Be(TrainingStatusReasons.StoppedByUser);
        h.Cluster.Requests.Entries.Should().NotContain(e => e.Verb == "delete" || e.Verb == "deletecollection", "a stop never deletes the Job");
        h.Cluster.Requests.Entries.Should().ContainSingle(e => e.Verb == "patch" && e.Resource == "jobs").Which.StatusCode.Should().Be(200);
        var job = (await h.JobsAsync()).Should().ContainSingle().Subject;
        job.Metadata.Uid.Should().Be(before.Metadata.Uid);
        job.Spec.ActiveDeadlineSeconds.Should().Be(0, "the Job controller ends a Job past its deadline and removes its pods");
        job.Metadata.Annotations.Should().ContainKey(KubernetesLabels.StopRequestedAnnotation)
            .And.Contain(KubernetesLabels.StopReasonAnnotation, TrainingStatusReasons.StoppedByUser);
        stopped.FinishedAt.Should().Be(DateTimeOffset.Parse(job.Metadata.Annotations[KubernetesLabels.StopRequestedAnnotation], System.Globalization.CultureInfo.InvariantCulture));

        // Idempotent, and the same on another host (a restart): the stop is read from the Job.
        h.Cluster.Requests.Clear();
        var again = await h.Executor.StopAsync(run);
        again.Should().BeEquivalentTo(stopped);
        h.Cluster.Requests.CountOf("patch", "jobs").Should().Be(0, "a recorded stop is not written twice");
        using var restarted = h.NewExecutor();
        (await restarted.GetStatusAsync(run)).Should().BeEquivalentTo(stopped);
        (await restarted.StopAsync(run)).Phase.Should().Be(TrainingPhase.Stopped);
        (await restarted.ListAsync()).Should().ContainSingle().Which.Phase.Should().Be(TrainingPhase.Stopped);
        (await restarted.FindAsync(config.JobId)).Should().Be(run);

        // One rule for a job id used before: the same config returns the stopped run; another config is a conflict.
        (await restarted.StartAsync(Jobs.Config().Build())).Should().Be(run);
        (await h.JobsAsync()).Should().ContainSingle().Which.Metadata.Uid.Should().Be(before.Metadata.Uid, "no new run was created");
        var conflict = () => restarted.StartAsync(Jobs.Config().Apply(b => b.Epochs = 99).Build());
        (await conflict.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.JobConflict);
    }

    [Fact]
    public async Task A_stop_racing_another_write_reads_the_job_again_and_never_stops_a_replaced_job()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var run = await h.Executor.StartAsync(Jobs.Config().Build());

        // The Job changes between the executor's read and its patch: the resourceVersion precondition answers 409 and the
        // executor reads again, so the stop lands on the state it looked at.
        var raced = 0;
        h.Cluster.Faults.DelayNext(1, TimeSpan.FromMilliseconds(1), r =>
        {
            if (r.Verb == "patch" && r.Resource == "jobs" && Interlocked.Exchange(ref raced, 1) == 0)
            {
                h.Cluster.Store.Update(VisionPlatform.Training.Kubernetes.TestCluster.Store.ResourceType.Jobs, "training", "training-job-job-42", j =>
                {
                    j["metadata"]!["labels"]!["touched"] = "yes";
                    return j;
                });
            }

            return r.Verb == "patch";
        });

        (await h.Executor.StopAsync(run)).Phase.Should().Be(TrainingPhase.Stopped);
        h.Cluster.Requests.Entries.Where(e => e.Verb == "patch").Select(e => e.StatusCode).Should().Equal(409, 200);

        // A Job of the same name that is another run now (deleted and created again) is not this run's: NotFound, untouched.
        var original = (await h.JobsAsync()).Single();
        await h.Client.BatchV1.DeleteNamespacedJobAsync(original.Metadata.Name, "training", propagationPolicy: "Background");
        var other = Jobs.Builder().Build(Jobs.Config().Build());
        other.Metadata.Annotations[KubernetesLabels.JobIdAnnotation] = "someone-else";
        await h.Client.BatchV1.CreateNamespacedJobAsync(other, "training");
        (await h.Executor.StopAsync(run)).Phase.Should().Be(TrainingPhase.NotFound);
        (await h.JobsAsync()).Single().Metadata.Annotations.Should().NotContainKey(KubernetesLabels.StopRequestedAnnotation);
    }

    [Fact]
    public async Task A_transient_server_error_on_create_is_retried_and_still_creates_one_job()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        h.Cluster.Faults.FailNext(1, statusCode: 503, match: r => r.Verb == "create");

        var run = await h.Executor.StartAsync(Jobs.Config().Build());

        (await h.JobsAsync()).Should().ContainSingle();
        h.Cluster.Requests.CountOf("create", "jobs").Should().Be(2);
        (await h.Executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Pending);
    }

    [Fact]
    public async Task An_unknown_run_is_not_found()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var status = await h.Executor.GetStatusAsync(new TrainingRun("kubernetes", "ghost", "training/training-job-ghost"));
        status.Phase.Should().Be(TrainingPhase.NotFound);
        status.IsTerminal.Should().BeTrue();
        var logs = async () => { await foreach (var _ in h.Executor.GetLogsAsync(new TrainingRun("kubernetes", "ghost", "training/training-job-ghost"))) { } };
        (await logs.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.RunNotFound);
    }

    [Fact]
    public async Task A_missing_namespace_is_reported_with_the_fix()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true, executor: o => o.Namespace = "ml-missing");
        var act = () => h.Executor.StartAsync(Jobs.Config().Build());
        var error = (await act.Should().ThrowAsync<TrainingException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        error.Message.Should().Contain("kubectl create namespace ml-missing");
    }

    [Fact]
    public async Task Rbac_denial_is_forbidden_with_a_hint_naming_verb_resource_and_namespace()
    {
        await using var h = await ClusterHarness.StartAsync(
            apiServerOnly: true,
            cluster: c => c.AccessPolicy = new AccessPolicy([new AccessRule(["get", "list"], ["*"])]));

        var act = () => h.Executor.StartAsync(Jobs.Config().Build());

        var error = (await act.Should().ThrowAsync<TrainingException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.Forbidden);
        error.Message.Should().Contain("'create'").And.Contain("jobs").And.Contain("'training'").And.Contain("RoleBinding");
    }

    [Fact]
    public async Task Availability_is_the_version_endpoint_within_the_timeout()
    {
        var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        (await h.Executor.CheckAvailabilityAsync()).IsAvailable.Should().BeTrue();
        var executor = h.NewExecutor();
        await h.DisposeAsync();

        var down = await executor.CheckAvailabilityAsync();

        down.IsAvailable.Should().BeFalse();
        down.Reason.Should().Contain("Training:Kubernetes:Connection:Host");
        executor.Dispose();
    }

    [Fact]
    public async Task The_same_specs_are_accepted_or_rejected_by_the_builder_validator_and_the_apiserver()
    {
        // Rejected locally on purpose although a current apiserver accepts the Job: strict env names keep Jobs valid on
        // clusters older than 1.32, and an image with surrounding spaces is checked upstream only for pods, so the Job
        // would be accepted but could never create one. Also the test cluster does not yet reject a body whose
        // namespace differs from the URL's (a real apiserver answers 400).
        string[] notComparable =
        [
            "P1 image with surrounding spaces", "P2 env name with a space", "P2 env name starting with a digit",
            "M6 namespace not a DNS label",
        ];
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var mismatches = new List<string>();
        var index = 0;
        foreach (var testCase in JobValidationCases.All)
        {
            var job = JobValidationCases.ValidJob();
            job.Metadata.Name = $"case-{index++}";
            testCase.Mutate(job);
            var local = KubernetesJobValidator.Validate(job);

            string? server = null;
            try
            {
                await h.Client.BatchV1.CreateNamespacedJobAsync(job, "training", dryRun: "All");
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest)
            {
                server = ex.Response.Content;
            }

            if (notComparable.Contains(testCase.Name))
            {
                local.Should().NotBeEmpty($"{testCase.Name} is a real apiserver rule");
                continue;
            }

            if ((local.Count == 0) != (server is null))
            {
                mismatches.Add($"{testCase.Name}: local [{string.Join("; ", local)}] vs server [{server ?? "accepted"}]");
            }
        }

        mismatches.Should().BeEmpty(string.Join(Environment.NewLine, mismatches));
    }
}
