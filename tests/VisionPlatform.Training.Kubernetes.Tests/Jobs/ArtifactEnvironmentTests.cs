using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Storage;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// With <c>AddArtifactStorage</c>, every Job's trainer container is told where the run's artifacts belong
/// (<c>VP_ARTIFACT_BUCKET</c>, <c>VP_ARTIFACT_PREFIX</c> = <see cref="IArtifactStore.GetRunPrefix"/>), as plain values with no
/// secret; without a store neither is set; configuring either is refused at start-up.
/// </summary>
public class ArtifactEnvironmentTests
{
    private const string StorageSecret = "s3-secret-that-must-never-reach-a-job";

    [Fact]
    public async Task Jobs_created_through_the_hosted_executor_carry_the_bucket_and_their_own_run_prefix()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        await using var provider = Provider(h.Cluster.Url.ToString().TrimEnd('/'), withStorage: true);
        var client = provider.GetRequiredService<TrainingClient>();
        var store = provider.GetRequiredService<IArtifactStore>();

        var first = (await client.StartAsync(Jobs.Config("env-1").Build())).Run;
        var second = (await client.StartAsync(Jobs.Config("Env 2/ä", TrainingFramework.HuggingFace).Build())).Run;

        first.ExecutorName.Should().Be(KubernetesExecutorInfo.ExecutorName);
        var jobs = await h.JobsAsync();
        jobs.Should().HaveCount(2);
        foreach (var (jobId, run) in new[] { ("env-1", first), ("Env 2/ä", second) })
        {
            var job = jobs.Single(j => $"training/{j.Metadata.Name}" == run.ResourceId);
            var env = job.Spec.Template.Spec.Containers.Single(c => c.Name == TrainingJobSpecBuilder.ContainerName).Env;
            Plain(env, "VP_ARTIFACT_BUCKET").Should().Be("vision-artifacts");
            Plain(env, "VP_ARTIFACT_PREFIX").Should().Be(store.GetRunPrefix(jobId)).And.StartWith("tenants/acme/").And.EndWith("/");
            Plain(env, "TRAINING_CHECKPOINT_URI").Should().Be($"s3://vision-artifacts/{store.GetRunPrefix(jobId)}checkpoints/");
            KubernetesJobYaml(job).Should().NotContain(StorageSecret);
        }
    }

    [Fact]
    public void The_spec_builder_of_a_host_without_storage_sets_neither_variable()
    {
        using var provider = Provider("http://127.0.0.1:1", withStorage: false);
        var builder = provider.GetRequiredService<TrainingJobSpecBuilder>();

        foreach (var config in new[] { Jobs.Config("no-store-1").Build(), Jobs.Config("no-store-2").Build() })
        {
            var env = builder.Build(config).Spec.Template.Spec.Containers[0].Env;
            env.Select(e => e.Name).Should().NotContain(ArtifactEnvironment.Names);
        }
    }

    [Fact]
    public void A_builder_given_a_store_sets_them_on_the_template_path_and_the_full_build_alike()
    {
        using var store = new S3ArtifactStore(StoreOptions());
        var builder = new TrainingJobSpecBuilder(Jobs.Options(), new VisionPlatform.Training.Trainers.FlagTrainerContract(), trainer: null, store);

        // The first build of a kind makes the template; later ones copy it and must still get their own prefix.
        for (var i = 0; i < 3; i++)
        {
            var config = Jobs.Config($"job-{i}").Build();
            var fast = builder.Build(config);
            var full = builder.BuildFromScratch(config);
            Plain(fast.Spec.Template.Spec.Containers[0].Env, "VP_ARTIFACT_PREFIX").Should().Be($"tenants/acme/job-{i}/");
            Plain(fast.Spec.Template.Spec.Containers[0].Env, "TRAINING_CHECKPOINT_URI").Should().Be($"s3://vision-artifacts/tenants/acme/job-{i}/checkpoints/");
            KubernetesJobYaml(fast).Should().Be(KubernetesJobYaml(full));
        }
    }

    [Fact]
    public void Configuring_a_reserved_variable_fails_at_start_up_naming_each_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Training:Kubernetes:Environment:VP_ARTIFACT_PREFIX"] = "my/prefix/",
            ["Training:Kubernetes:Frameworks:timm:Environment:VP_ARTIFACT_BUCKET"] = "other-bucket",
            ["Training:Kubernetes:ConfigMapEnvironment:VP_ARTIFACT_BUCKET:Name"] = "backend-config",
            ["Training:Kubernetes:ConfigMapEnvironment:VP_ARTIFACT_BUCKET:Key"] = "bucket",
            ["Training:Kubernetes:Environment:TRAINING_CHECKPOINT_URI"] = "s3://elsewhere/checkpoints/",
        }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(configuration.GetSection("Training:Kubernetes"));
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        var failures = act.Should().Throw<OptionsValidationException>().Which.Failures.ToList();
        foreach (var key in new[]
        {
            "Training:Kubernetes:Environment:VP_ARTIFACT_PREFIX", "Training:Kubernetes:Frameworks:timm:Environment:VP_ARTIFACT_BUCKET",
            "Training:Kubernetes:ConfigMapEnvironment:VP_ARTIFACT_BUCKET", "Training:Kubernetes:Environment:TRAINING_CHECKPOINT_URI",
        })
        {
            failures.Should().ContainSingle(f => f.StartsWith(key + " is reserved", StringComparison.Ordinal), key)
                .Which.Should().Contain("artifact store").And.Contain("cannot be configured");
        }
    }

    private static string Plain(IList<V1EnvVar> env, string name)
    {
        var variable = env.Should().ContainSingle(e => e.Name == name).Which;
        variable.ValueFrom.Should().BeNull("the artifact location is a plain value, not a reference");
        return variable.Value;
    }

    private static string KubernetesJobYaml(V1Job job) => TrainingJobSpecBuilder.ToYaml(job);

    private static ArtifactStorageOptions StoreOptions()
    {
        var o = new ArtifactStorageOptions();
        ConfigureStore(o);
        return o;
    }

    private static void ConfigureStore(ArtifactStorageOptions o)
    {
        o.ServiceUrl = "http://127.0.0.1:1";
        o.Bucket = "vision-artifacts";
        o.Prefix = "tenants/acme";
        o.AccessKeyId = "key-id";
        o.SecretAccessKey = StorageSecret;
    }

    private static ServiceProvider Provider(string host, bool withStorage)
    {
        var services = new ServiceCollection();
        var builder = services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(o =>
        {
            o.Connection.Host = host;
            o.Image.Registry = "registry.example.com/vision";
            o.Image.Tag = "1.4.0";
            o.Monitor.Enabled = false;
        });
        if (withStorage)
        {
            builder.AddArtifactStorage(ConfigureStore);
        }

        return services.BuildServiceProvider();
    }
}
