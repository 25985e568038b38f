using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Kubernetes.Tests.Kueue;

/// <summary>Kueue options: the queue and priority labels on the Job, suspend, the pod priority override, validation.</summary>
public class KueueJobSpecTests
{
    [Fact]
    public void A_queued_job_matches_the_golden_yaml()
    {
        var builder = Jobs.Builder(o =>
        {
            o.Kueue.QueueName = "team-a";
            o.Kueue.WorkloadPriorityClass = "batch-low";
            o.PriorityClassName = "training-default";
        });

        var job = builder.Build(Jobs.Config("queued-1").Build(), new KubernetesJobOptions { WorkloadPriorityClass = "batch-high", PriorityClassName = "training-high" });

        GoldenFile.Verify("kueue-queued.yaml", TrainingJobSpecBuilder.ToYaml(job));
    }

    [Fact]
    public void A_host_queue_labels_the_Job_only_and_creates_it_suspended()
    {
        var builder = Jobs.Builder(o => o.Kueue.QueueName = "team-a");

        // Twice: the first build fills the template cache, the second takes the template path; both must agree.
        foreach (var job in new[] { builder.Build(Jobs.Config("q-1").Build()), builder.Build(Jobs.Config("q-2").Build()), builder.BuildFromScratch(Jobs.Config("q-3").Build()) })
        {
            job.Metadata.Labels.Should().Contain(KubernetesLabels.KueueQueueName, "team-a");
            job.Metadata.Labels.Should().NotContainKey(KubernetesLabels.KueuePriorityClass);
            job.Spec.Suspend.Should().BeTrue("a queued Job waits for Kueue's admission without starting pods");
            job.Spec.Template.Metadata.Labels.Keys.Should().NotContain(k => k.StartsWith("kueue.x-k8s.io/", StringComparison.Ordinal), "Kueue reads the Job's labels; on pods they would mean nothing");
        }
    }

    [Fact]
    public void Without_a_queue_the_Job_is_unchanged()
    {
        var plain = Jobs.Builder().Build(Jobs.Config("plain").Build());
        var optedOut = Jobs.Builder(o => o.Kueue.QueueName = "team-a").Build(Jobs.Config("plain").Build(), new KubernetesJobOptions { QueueName = "" });

        plain.Spec.Suspend.Should().BeNull();
        plain.Metadata.Labels.Keys.Should().NotContain(k => k.StartsWith("kueue.x-k8s.io/", StringComparison.Ordinal));
        TrainingJobSpecBuilder.ToYaml(optedOut).Should().Be(TrainingJobSpecBuilder.ToYaml(plain), "an empty per-run queue opts out of the host's");
    }

    [Fact]
    public void A_per_run_queue_and_priorities_override_the_host()
    {
        var builder = Jobs.Builder(o =>
        {
            o.Kueue.QueueName = "team-a";
            o.Kueue.WorkloadPriorityClass = "batch-low";
            o.PriorityClassName = "training-default";
        });

        var job = builder.Build(Jobs.Config().Build(), new KubernetesJobOptions { QueueName = "team-b", WorkloadPriorityClass = "batch-high", PriorityClassName = "" });

        job.Metadata.Labels[KubernetesLabels.KueueQueueName].Should().Be("team-b");
        job.Metadata.Labels[KubernetesLabels.KueuePriorityClass].Should().Be("batch-high");
        job.Spec.Template.Spec.PriorityClassName.Should().BeNull("an empty per-run pod priority class removes the host's");
        builder.Build(Jobs.Config("host").Build()).Spec.Template.Spec.PriorityClassName.Should().Be("training-default");
        builder.Build(Jobs.Config("pod").Build(), new KubernetesJobOptions { PriorityClassName = "training-high" }).Spec.Template.Spec.PriorityClassName.Should().Be("training-high");
    }

    [Fact]
    public void The_queue_is_placement_and_not_part_of_the_config_hash()
    {
        var config = Jobs.Config().Build();
        var a = Jobs.Builder(o => o.Kueue.QueueName = "team-a").Build(config);
        var b = Jobs.Builder().Build(config, new KubernetesJobOptions { QueueName = "team-b", WorkloadPriorityClass = "high", PriorityClassName = "p" });

        a.Metadata.Annotations[KubernetesLabels.ConfigHashAnnotation].Should().Be(config.ConfigHash);
        b.Metadata.Annotations[KubernetesLabels.ConfigHashAnnotation].Should().Be(config.ConfigHash);
    }

    [Fact]
    public void Bad_per_run_values_are_rejected_naming_the_option_and_the_rule()
    {
        var builder = Jobs.Builder();

        var act = () => builder.Build(Jobs.Config().Build(), new KubernetesJobOptions { QueueName = "Team_A", WorkloadPriorityClass = "high", PriorityClassName = "Bad Class" });

        var errors = act.Should().Throw<TrainingValidationException>().Which.Errors;
        errors.Should().Contain(e => e.Field == "KubernetesJobOptions.QueueName" && e.Value == "Team_A" && e.Rule.Contains("RFC 1123 subdomain of at most 63 characters", StringComparison.Ordinal));
        errors.Should().Contain(e => e.Field == "KubernetesJobOptions.PriorityClassName" && e.Value == "Bad Class");
        builder.Invoking(b => b.Build(Jobs.Config().Build(), new KubernetesJobOptions { WorkloadPriorityClass = "high" }))
            .Should().Throw<TrainingValidationException>().Which.Errors.Should().Contain(e =>
                e.Field == "KubernetesJobOptions.WorkloadPriorityClass" && e.Rule.Contains("applies only to a queued job", StringComparison.Ordinal));
        builder.Invoking(b => b.Build(Jobs.Config().Build(), new KubernetesJobOptions { QueueName = new string('q', 64) }))
            .Should().Throw<TrainingValidationException>().Which.Errors.Should().ContainSingle(e => e.Field == "KubernetesJobOptions.QueueName");
    }

    [Fact]
    public void Job_labels_may_not_set_Kueue_labels_themselves()
    {
        var config = Jobs.Config().Apply(b => b.Labels["kueue.x-k8s.io/queue-name"] = "sneaky").Build();

        var act = () => Jobs.Builder().Build(config);

        act.Should().Throw<TrainingValidationException>().Which.Errors.Should().Contain(e =>
            e.Field == "Labels[kueue.x-k8s.io/queue-name]" && e.Rule.Contains("KubernetesJobOptions.QueueName", StringComparison.Ordinal));
    }

    [Fact]
    public void Kueue_options_bind_from_configuration()
    {
        using var provider = Provider(new Dictionary<string, string?>
        {
            ["Training:Kubernetes:Kueue:QueueName"] = "team-a",
            ["Training:Kubernetes:Kueue:WorkloadPriorityClass"] = "batch-low",
            ["Training:Kubernetes:Kueue:MaxPreemptions"] = "3",
        });

        var options = provider.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value;

        options.Kueue.QueueName.Should().Be("team-a");
        options.Kueue.WorkloadPriorityClass.Should().Be("batch-low");
        options.Kueue.MaxPreemptions.Should().Be(3);
        new KubernetesKueueOptions().MaxPreemptions.Should().Be(10);
    }

    [Fact]
    public void Invalid_Kueue_options_fail_at_start_up_naming_the_key()
    {
        using var provider = Provider(new Dictionary<string, string?>
        {
            ["Training:Kubernetes:Kueue:QueueName"] = "Team_A",
            ["Training:Kubernetes:Kueue:WorkloadPriorityClass"] = "-low",
            ["Training:Kubernetes:Kueue:MaxPreemptions"] = "-1",
            ["Training:Kubernetes:Kueue:PositionRefreshInterval"] = "00:00:00.500",
        });

        var act = () => provider.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value;

        var messages = act.Should().Throw<OptionsValidationException>().Which.Failures.ToList();
        messages.Should().Contain(m => m.StartsWith("Training:Kubernetes:Kueue:QueueName is 'Team_A': the LocalQueue name must be a lowercase RFC 1123 subdomain", StringComparison.Ordinal));
        messages.Should().Contain(m => m.StartsWith("Training:Kubernetes:Kueue:WorkloadPriorityClass is '-low'", StringComparison.Ordinal));
        messages.Should().Contain(m => m.StartsWith("Training:Kubernetes:Kueue:MaxPreemptions is -1: it must be between 0", StringComparison.Ordinal));
        messages.Should().Contain(m => m.StartsWith("Training:Kubernetes:Kueue:PositionRefreshInterval is 00:00:00.5000000: it must be between 00:00:01 and 00:10:00", StringComparison.Ordinal));
    }

    private static ServiceProvider Provider(Dictionary<string, string?> settings)
    {
        settings.TryAdd("Training:DefaultExecutor", KubernetesExecutorInfo.ExecutorName);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(configuration.GetSection("Training")).AddKubernetes(configuration.GetSection("Training:Kubernetes"));
        return services.BuildServiceProvider();
    }
}
