using VisionPlatform.Training.Kubernetes.TestCluster.Api;

namespace VisionPlatform.Training.Kubernetes.Tests.Routing;

/// <summary>
/// Routing and fallback with the real Kubernetes executor against the test cluster's fault injection, and the real
/// subprocess executor running train.py as the fallback.
/// </summary>
public class FallbackFaultInjectionTests
{
    private static bool IsJobCreate(ApiRequest r) => r.Verb == "create" && r.Resource == "jobs";

    [Fact]
    public async Task A_cluster_refusing_connections_at_start_sends_the_job_to_the_subprocess_executor()
    {
        await using var host = await FallbackHost.StartAsync();
        await host.Cluster.Faults.RefuseConnectionsAsync();

        var result = await host.Client.StartAsync(FallbackHost.Job("refused-1"));

        result.IsFallback.Should().BeTrue();
        result.RequestedExecutor.Should().Be("kubernetes");
        result.ExecutorName.Should().Be("subprocess");
        result.FallbackReason.Should().Contain("'kubernetes' is unavailable").And.Contain("cannot be reached");
        var final = await Eventually.GetAsync(() => result.UpdateStatusAsync(), s => s.IsTerminal, "the local run to finish");
        final.Phase.Should().Be(TrainingPhase.Succeeded);
        (await host.Client.GetAvailabilityAsync("kubernetes")).IsAvailable.Should().BeFalse();
    }

    [Fact]
    public async Task Server_errors_are_retried_and_a_start_that_succeeds_on_retry_stays_on_kubernetes()
    {
        await using var host = await FallbackHost.StartAsync();
        host.Cluster.Faults.FailNext(2, 500, IsJobCreate);

        var result = await host.Client.StartAsync(FallbackHost.Job("retried-1"));

        result.IsFallback.Should().BeFalse();
        result.ExecutorName.Should().Be("kubernetes");
        host.Cluster.Requests.CountWhere(e => e.Verb == "create" && e.Resource == "jobs").Should().Be(3);
        (await host.ClusterJobIdsAsync()).Should().Equal("retried-1");
    }

    [Fact]
    public async Task Persistent_server_errors_are_retried_then_the_job_falls_back_after_checking_it_was_not_created()
    {
        await using var host = await FallbackHost.StartAsync();
        host.Cluster.Faults.FailNext(4, 500, IsJobCreate);
        host.Cluster.Requests.Clear();

        var result = await host.Client.StartAsync(FallbackHost.Job("five-hundreds"));

        result.IsFallback.Should().BeTrue();
        result.ExecutorName.Should().Be("subprocess");
        result.FallbackReason.Should().Contain("500");
        var requests = host.Cluster.Requests.Entries;
        requests.Where(e => e.Verb == "create").Should().HaveCount(4).And.OnlyContain(e => e.StatusCode == 500);
        requests.Should().Contain(e => e.Verb == "get" && e.Resource == "jobs" && e.StatusCode == 404, "the manager checks the job was not created before falling back");
        (await host.ClusterJobIdsAsync()).Should().BeEmpty();
        (await host.LocalJobIdsAsync()).Should().Equal("five-hundreds");
    }

    [Fact]
    public async Task A_create_that_reached_the_server_before_timing_out_is_not_started_again_elsewhere()
    {
        await using var host = await FallbackHost.StartAsync(kubernetes: o =>
        {
            // Every request but the two delayed ones must answer within the attempt timeout, on a loaded machine too.
            o.Connection.Resilience.AttemptTimeout = TimeSpan.FromSeconds(2);
            o.Connection.Resilience.MaxRetryAttempts = 1;
        });

        // Both attempts time out on the client, but the server handles them after the delay: the first one creates the Job.
        host.Cluster.Faults.DelayNext(2, TimeSpan.FromSeconds(6), IsJobCreate);

        var result = await host.Client.StartAsync(FallbackHost.Job("slow-create"));

        result.IsFallback.Should().BeFalse();
        result.ExecutorName.Should().Be("kubernetes");
        (await host.ClusterJobIdsAsync()).Should().Equal("slow-create");
        (await host.LocalJobIdsAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Retry_after_on_429_is_honoured_and_the_job_stays_on_kubernetes()
    {
        await using var host = await FallbackHost.StartAsync();
        host.Cluster.Faults.FailNext(1, 429, IsJobCreate, retryAfterSeconds: 1);
        host.Cluster.Requests.Clear();

        var result = await host.Client.StartAsync(FallbackHost.Job("throttled"));

        result.ExecutorName.Should().Be("kubernetes");
        var creates = host.Cluster.Requests.Entries.Where(e => e.Verb == "create").ToList();
        creates.Select(e => e.StatusCode).Should().Equal(429, 201);
        (creates[1].Timestamp - creates[0].Timestamp).Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(900), "Retry-After: 1 was honoured (backoff alone is 20 ms)");
    }

    [Fact]
    public async Task Forbidden_surfaces_to_the_caller_and_does_not_fall_back()
    {
        await using var host = await FallbackHost.StartAsync(cluster: c => c.AccessPolicy = new AccessPolicy([new AccessRule(["get", "list", "watch"], ["*"])]));

        var act = () => host.Client.StartAsync(FallbackHost.Job("forbidden"));

        var e = (await act.Should().ThrowAsync<TrainingException>()).Which;
        e.Code.Should().Be(TrainingErrorCode.Forbidden);
        e.Message.Should().Contain("RBAC");
        (await host.LocalJobIdsAsync()).Should().BeEmpty();
        host.Cluster.Requests.CountWhere(r => r.Verb == "create").Should().Be(1, "a 403 is not retried");
    }

    [Fact]
    public async Task Unprocessable_surfaces_to_the_caller_and_does_not_fall_back()
    {
        await using var host = await FallbackHost.StartAsync();
        host.Cluster.Faults.FailNext(1, 422, IsJobCreate);

        var act = () => host.Client.StartAsync(FallbackHost.Job("rejected"));

        (await act.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.Rejected);
        (await host.LocalJobIdsAsync()).Should().BeEmpty();
        host.Cluster.Requests.CountWhere(r => r.Verb == "create").Should().Be(1);
    }

    [Fact]
    public async Task When_the_cluster_recovers_new_jobs_go_to_kubernetes_again()
    {
        await using var host = await FallbackHost.StartAsync();
        await host.Cluster.Faults.RefuseConnectionsAsync();
        var during = await host.Client.StartAsync(FallbackHost.Job("during-outage", epochSeconds: 30));

        await host.Cluster.Faults.AcceptConnectionsAsync();
        await Eventually.GetAsync(() => host.Client.GetAvailabilityAsync("kubernetes"), a => a.IsAvailable, "the cluster to be seen as available again");
        var after = await host.Client.StartAsync(FallbackHost.Job("after-outage"));

        during.ExecutorName.Should().Be("subprocess");
        after.ExecutorName.Should().Be("kubernetes");
        after.IsFallback.Should().BeFalse();
        (await during.UpdateStatusAsync()).ExecutorName.Should().Be("subprocess", "a run that fell back stays where it is");
    }

    [Fact]
    public async Task A_GPU_job_without_a_local_GPU_fails_clearly_instead_of_running_on_the_CPU()
    {
        await using var host = await FallbackHost.StartAsync();
        await host.Cluster.Faults.RefuseConnectionsAsync();

        var act = () => host.Client.StartAsync(FallbackHost.Job("needs-gpu", gpus: 1));

        var e = (await act.Should().ThrowAsync<TrainingException>()).Which;
        e.Code.Should().Be(TrainingErrorCode.Unschedulable);
        e.Message.Should().Contain("executor 'kubernetes' is unavailable")
            .And.Contain("does not fit fallback 'subprocess'")
            .And.Contain("1 GPU(s)").And.Contain("Training:Subprocess:Gpus");
        (await host.LocalJobIdsAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task No_fallback_per_request_fails_with_the_reason()
    {
        await using var host = await FallbackHost.StartAsync();
        await host.Cluster.Faults.RefuseConnectionsAsync();

        var act = () => host.Client.StartAsync(FallbackHost.Job("cluster-only"), new TrainingStartOptions { NoFallback = true });

        var e = (await act.Should().ThrowAsync<TrainingException>()).Which;
        e.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        e.Message.Should().Contain("NoFallback");
        (await host.LocalJobIdsAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Runs_are_routed_by_their_handle_after_the_default_changes()
    {
        await using var host = await FallbackHost.StartAsync();
        var onCluster = await host.Client.StartAsync(FallbackHost.Job("on-cluster"));

        host.Reconfigure(o => o.DefaultExecutor = "subprocess");
        var local = await host.Client.StartAsync(FallbackHost.Job("local"));
        host.Cluster.Requests.Clear();
        var clusterStatus = await host.Client.GetOperation(onCluster.Id).UpdateStatusAsync();
        var found = await host.Client.FindAsync("on-cluster");

        onCluster.ExecutorName.Should().Be("kubernetes");
        local.ExecutorName.Should().Be("subprocess");
        local.IsFallback.Should().BeFalse();
        clusterStatus.ExecutorName.Should().Be("kubernetes");
        clusterStatus.Phase.Should().Be(TrainingPhase.Pending);
        host.Cluster.Requests.CountWhere(r => r.Verb == "get" && r.Resource == "jobs").Should().BeGreaterThan(0);
        found!.Run.Should().Be(onCluster.Run);
    }

    [Fact]
    public async Task A_hundred_concurrent_starts_while_the_breaker_trips_start_every_job_exactly_once()
    {
        await using var host = await FallbackHost.StartAsync(
            training: o =>
            {
                o.Availability.CircuitBreaker.MinimumThroughput = 4;
                o.Availability.CircuitBreaker.BreakDuration = TimeSpan.FromMilliseconds(500);
            },
            kubernetes: o => o.Connection.Resilience.AttemptTimeout = TimeSpan.FromSeconds(1));

        // Creates answer 500 for a while (retries run out, the breaker trips), a few are delayed past the client's
        // attempt timeout but still applied by the server (ambiguous), then the cluster recovers.
        host.Cluster.Faults.DelayNext(3, TimeSpan.FromSeconds(3), IsJobCreate);
        host.Cluster.Faults.FailNext(120, 500, IsJobCreate);
        var ids = Enumerable.Range(0, 100).Select(i => $"burst-{i:D3}").ToList();
        var results = new System.Collections.Concurrent.ConcurrentBag<TrainingOperation>();
        var unsettled = new System.Collections.Concurrent.ConcurrentBag<string>();

        // Like a real caller: a start refused as "unsettled" (its create went unanswered) is simply started again.
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 25 }, async (id, ct) =>
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                try
                {
                    results.Add(await host.Client.StartAsync(FallbackHost.Job(id, epochSeconds: 60), cancellationToken: ct));
                    return;
                }
                catch (TrainingException e) when (e.Code == TrainingErrorCode.ExecutorUnavailable && DateTime.UtcNow < deadline)
                {
                    e.Message.Should().Contain("not moved to another executor");
                    unsettled.Add(id);
                    await Task.Delay(200, ct);
                }
            }
        });

        var onCluster = await host.ClusterJobIdsAsync();
        var local = await host.LocalJobIdsAsync();
        onCluster.Should().OnlyHaveUniqueItems();
        local.Should().OnlyHaveUniqueItems();
        onCluster.Intersect(local).Should().BeEmpty("no job runs on two executors");
        onCluster.Concat(local).Should().BeEquivalentTo(ids, "no job is lost");
        results.Select(r => r.Run.JobId).Should().BeEquivalentTo(ids);
        foreach (var result in results)
        {
            (result.ExecutorName == "kubernetes" ? onCluster : local).Should().Contain(result.Run.JobId);
            result.IsFallback.Should().Be(result.ExecutorName == "subprocess");
        }

        // Whether a delayed create is refused as unsettled or resolved at once (the lookup already finds the Job) depends
        // on timing; either way, a job whose create went unanswered stays with the cluster.
        foreach (var result in results.Where(r => unsettled.Contains(r.Run.JobId)))
        {
            result.ExecutorName.Should().Be("kubernetes", "a job whose create went unanswered stays with the cluster");
        }

        results.Should().Contain(r => r.FallbackReason != null && r.FallbackReason.Contains("circuit breaker", StringComparison.Ordinal), "the breaker tripped");
        results.Should().Contain(r => r.ExecutorName == "kubernetes");
    }
}
