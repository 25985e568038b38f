using System.Net;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Autorest;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// The json-config contract's config too large for one argument travels as a file on Kubernetes: a ConfigMap named after
/// the Job, owned by it, mounted read-only, passed as <c>--config @/etc/visionplatform/config/config.json</c>.
/// </summary>
public class ConfigFileTests
{
    private const string Ns = "training";

    [Fact]
    public async Task A_200_KiB_config_reaches_the_trainer_byte_for_byte_and_its_ConfigMap_goes_with_the_Job()
    {
        await using var h = await WorkloadHarness.StartAsync();
        var builder = new TrainingJobSpecBuilder(h.Options, new JsonConfigTrainerContract());
        var executor = new KubernetesTrainingExecutor(builder);
        var padding = new string('x', 200 * 1024);
        var config = WorkloadHarness.Trainer("big-config", $$"""{"epoch_seconds": 0.2, "padding": "{{padding}}"}""").Build();

        var job = builder.Build(config);
        var configMap = builder.BuildConfigMap(config, job);
        configMap.Should().NotBeNull();
        var content = configMap!.Data["config.json"];
        Encoding.UTF8.GetByteCount(content).Should().BeGreaterThan(200 * 1024);
        job.Spec.Template.Spec.Containers[0].Args.Should().ContainInOrder("--config", "@/etc/visionplatform/config/config.json");
        TrainingJobSpecBuilder.ToYaml(job, configMap).Should().Contain("kind: ConfigMap").And.Contain("kind: Job").And.Contain("config.json");

        var run = await executor.StartAsync(config);
        var again = await executor.StartAsync(config);
        again.ResourceId.Should().Be(run.ResourceId, "a repeated start returns the same run and reuses the ConfigMap");

        var lines = new List<TrainingLogLine>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await foreach (var line in executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true }).WithCancellation(timeout.Token))
        {
            lines.Add(line);
        }

        var expected = $"{Encoding.UTF8.GetByteCount(content)} bytes sha256={Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)))}";
        lines.Select(l => l.Text).Should().Contain(t => t.StartsWith("config read from ", StringComparison.Ordinal) && t.EndsWith(expected, StringComparison.Ordinal));
        (await executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Succeeded);

        var stored = await h.Client.CoreV1.ReadNamespacedConfigMapAsync(configMap.Metadata.Name, Ns);
        stored.Data["config.json"].Should().Be(content);
        var created = await h.Client.BatchV1.ReadNamespacedJobAsync(job.Metadata.Name, Ns);
        stored.Metadata.OwnerReferences.Should().ContainSingle().Which.Uid.Should().Be(created.Metadata.Uid);
        created.Spec.Template.Spec.Volumes.Should().Contain(v => v.ConfigMap != null && v.ConfigMap.Name == configMap.Metadata.Name);
        created.Spec.Template.Spec.Containers[0].VolumeMounts.Should().Contain(m => m.MountPath == "/etc/visionplatform/config" && m.ReadOnlyProperty == true);

        await h.Client.BatchV1.DeleteNamespacedJobAsync(job.Metadata.Name, Ns, propagationPolicy: "Background");
        await Eventually.GetAsync(
            async () =>
            {
                try
                {
                    await h.Client.CoreV1.ReadNamespacedConfigMapAsync(configMap.Metadata.Name, Ns);
                    return false;
                }
                catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
                {
                    return true;
                }
            },
            gone => gone,
            "the garbage collector to delete the ConfigMap with its Job",
            TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task When_the_Job_create_fails_the_ConfigMap_is_deleted_and_a_repeated_start_creates_both()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var builder = new TrainingJobSpecBuilder(h.Options, new JsonConfigTrainerContract());
        var executor = new KubernetesTrainingExecutor(builder);
        var config = WorkloadHarness.Trainer("create-fails", $$"""{"padding": "{{new string('y', 140 * 1024)}}"}""").Build();
        var name = builder.BuildConfigMap(config, builder.Build(config))!.Metadata.Name;
        h.Cluster.Faults.FailNext(1, 403, r => r.Verb == "create" && r.Resource == "jobs");

        var act = () => executor.StartAsync(config);

        await act.Should().ThrowAsync<TrainingException>();
        (await h.Client.CoreV1.ListNamespacedConfigMapAsync(Ns)).Items.Should().NotContain(c => c.Metadata.Name == name, "nothing is left half-created");
        (await h.JobsAsync()).Should().BeEmpty();

        await executor.StartAsync(config);
        var job = (await h.JobsAsync()).Should().ContainSingle().Subject;
        var stored = await h.Client.CoreV1.ReadNamespacedConfigMapAsync(name, Ns);
        stored.Metadata.OwnerReferences.Should().ContainSingle().Which.Uid.Should().Be(job.Metadata.Uid);
    }

    [Fact]
    public async Task A_config_over_1_MiB_is_refused_naming_the_ConfigMap_limit_before_any_API_call()
    {
        // No apiserver at all: a refusal that needed one would be a connection error instead.
        var options = Jobs.Options(o => o.Connection.Host = "http://127.0.0.1:9");
        var executor = new KubernetesTrainingExecutor(new TrainingJobSpecBuilder(options, new JsonConfigTrainerContract()));
        var padding = new string('x', TrainingJobConfigBuilder.MaxAdvancedConfigLength - 64);
        var config = WorkloadHarness.Trainer("too-big", $$"""{"padding": "{{padding}}"}""").Build();

        var act = () => executor.StartAsync(config);

        var error = (await act.Should().ThrowAsync<TrainingValidationException>()).Which;
        error.Errors.Should().ContainSingle().Which.Rule.Should().Contain("1048576 bytes (1 MiB)").And.Contain("ConfigMap");
    }

    [Fact]
    public void A_config_that_fits_one_argument_makes_no_ConfigMap()
    {
        var builder = new TrainingJobSpecBuilder(Jobs.Options(), new JsonConfigTrainerContract());
        var config = WorkloadHarness.Trainer("small").Build();
        var job = builder.Build(config);

        builder.BuildConfigMap(config, job).Should().BeNull();
        job.Spec.Template.Spec.Volumes.Should().NotContain(v => v.ConfigMap != null);
        TrainingJobSpecBuilder.ToYaml(job, null).Should().Be(TrainingJobSpecBuilder.ToYaml(job));
    }
}
