namespace VisionPlatform.Training.Kubernetes.Tests.Kueue;

/// <summary>
/// The whole shared-cluster story in one run: queued behind another run with its position, admitted, preempted by Kueue
/// for a higher priority (its Job suspended again, its pod deleted), admitted again, and resumed in a new pod from the
/// checkpoint it had uploaded to the artifact store (s3rver), without a failed attempt. Statuses are direct reads.
/// </summary>
public sealed class KueuePreemptionResumeTests : IAsyncLifetime
{
    private const string Queue = "team-a";
    private ResumeHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await ResumeHarness.StartAsync(() => WorkloadHarness.StartAsync(executor: o =>
        {
            o.Kueue.QueueName = Queue;
            o.Job.TerminationGracePeriod = TimeSpan.FromSeconds(5);
        }));
        await KueueEndToEndTests.CreateQueuesAsync(_h.Cluster.Client);
    }

    public async Task DisposeAsync()
    {
        if (_h is not null)
        {
            await _h.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_queued_run_shows_its_position_survives_a_preemption_and_resumes_from_its_last_checkpoint()
    {
        const int epochs = 12;

        // A run that holds the queue's only slot until the test stops it.
        var blocker = await _h.Executor.StartAsync(WorkloadHarness.Trainer("kr-blocker", """{"epoch_seconds": 1}""", epochs: 600).Build(), new KubernetesJobOptions { WorkloadPriorityClass = "low" });
        await _h.Cluster.WaitForAsync(blocker, s => s.Phase == TrainingPhase.Running, "the blocker to run");

        var run = await _h.Executor.StartAsync(WorkloadHarness.Trainer("kr-run", """{"epoch_seconds": 0.5}""", epochs).Build(), new KubernetesJobOptions { WorkloadPriorityClass = "low" });
        var queued = await _h.Cluster.WaitForAsync(run, s => s.Reason == TrainingStatusReasons.Queued && s.Message!.EndsWith("; position 1 in queue team-a", StringComparison.Ordinal), "the run to wait with its position");
        queued.Phase.Should().Be(TrainingPhase.Pending);

        (await _h.Executor.StopAsync(blocker)).Phase.Should().Be(TrainingPhase.Stopped);
        await _h.Cluster.WaitForAsync(run, s => s.Phase == TrainingPhase.Running, "the run to be admitted and run", TimeSpan.FromSeconds(120));
        var stored = await Eventually.GetAsync(() => _h.StoredEpochsAsync("kr-run", @"^checkpoint_epoch_(\d+)\.json$"), e => e.Count >= 1, "epoch 1's checkpoint to be uploaded", TimeSpan.FromSeconds(120));
        var firstPod = (await _h.Cluster.PodsAsync()).Single(p => p.Metadata.Name.Contains("kr-run", StringComparison.Ordinal) && p.Metadata.DeletionTimestamp is null);

        // A higher priority takes the slot: Kueue suspends the run's Job again.
        var urgent = await _h.Executor.StartAsync(WorkloadHarness.Trainer("kr-urgent").Build(), new KubernetesJobOptions { WorkloadPriorityClass = "high" });
        var preempted = await _h.Cluster.WaitForAsync(run, s => s.Reason == TrainingStatusReasons.Preempted, "the run to be preempted");
        preempted.Phase.Should().Be(TrainingPhase.Pending);
        (await _h.Cluster.WaitForAsync(urgent, s => s.IsTerminal, "the urgent run to finish")).Phase.Should().Be(TrainingPhase.Succeeded);

        var done = await _h.Cluster.WaitForAsync(run, s => s.IsTerminal, "the run to be admitted again and finish", TimeSpan.FromSeconds(180));
        done.Phase.Should().Be(TrainingPhase.Succeeded, done.Message);
        done.Attempt.Should().Be(1, "a preemption is not a failed attempt");
        var pod = (await _h.Cluster.PodsAsync()).Single(p => p.Metadata.Name.Contains("kr-run", StringComparison.Ordinal));
        pod.Metadata.Uid.Should().NotBe(firstPod.Metadata.Uid, "the preempted pod was deleted and a new one ran");

        var log = await _h.LogAsync(run);
        var resumed = log.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"resumed after epoch (\d+)")).SingleOrDefault(m => m.Success);
        resumed.Should().NotBeNull("the new pod restored a checkpoint from the artifact store: " + string.Join(" | ", log.Take(5)));
        int.Parse(resumed!.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture).Should().BeGreaterThanOrEqualTo(stored.Min()).And.BeLessThan(epochs);
        (await _h.StoredEpochsAsync("kr-run", @"^checkpoint_epoch_(\d+)\.json$")).Should().Equal(Enumerable.Range(1, epochs));
    }
}
