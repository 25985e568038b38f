using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Kubernetes.Tests;

public class KubernetesOptionsTests
{
    [Fact]
    public void Options_bind_from_Training_Kubernetes_and_merge_with_the_seeded_defaults()
    {
        using var provider = Provider(new Dictionary<string, string?>
        {
            ["Training:Kubernetes:Namespace"] = "ml",
            ["Training:Kubernetes:Image:Registry"] = "registry.example.com",
            ["Training:Kubernetes:Image:Tag"] = "2.0.1",
            ["Training:Kubernetes:Image:PullSecrets:0"] = "regcred",
            ["Training:Kubernetes:Gpu:ResourceName"] = "amd.com/gpu",
            ["Training:Kubernetes:Gpu:Tolerations:0:Key"] = "amd.com/gpu",
            ["Training:Kubernetes:Gpu:Tolerations:0:Operator"] = "Exists",
            ["Training:Kubernetes:Gpu:NodeSelector:accelerator"] = "amd-gpu",
            ["Training:Kubernetes:SecretEnvironment:AWS_SECRET_ACCESS_KEY:Name"] = "s3",
            ["Training:Kubernetes:Frameworks:huggingface:MemoryLimit"] = "64Gi",
            ["Training:Kubernetes:Job:FailJobExitCodes:0"] = "2",
            ["Training:Kubernetes:Job:FailJobExitCodes:1"] = "3",
        });

        var options = provider.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value;
        options.Namespace.Should().Be("ml");
        options.Image.ForFramework("timm").Should().Be("registry.example.com/trainer-timm:2.0.1");
        options.Gpu.EffectiveTolerations.Single().Key.Should().Be("amd.com/gpu");
        options.Job.EffectiveFailJobExitCodes.Should().Equal(2, 3);
        options.SecretEnvironment["AWS_SECRET_ACCESS_KEY"].Name.Should().Be("s3");
        options.SecretEnvironment["AWS_SECRET_ACCESS_KEY"].Key.Should().Be("secret-key", "configured fields merge into the seeded entry");
        options.Frameworks["huggingface"].MemoryLimit.Should().Be("64Gi");
        options.Frameworks["huggingface"].MemoryRequest.Should().Be("16Gi");

        var job = provider.GetRequiredService<TrainingJobSpecBuilder>().Build(Jobs.Config().Apply(b => b.Resources = new TrainingResources { Gpus = 1 }).Build());
        job.Metadata.NamespaceProperty.Should().Be("ml");
        job.Spec.Template.Spec.Containers[0].Resources.Limits.Should().ContainKey("amd.com/gpu");
        job.Spec.Template.Spec.ImagePullSecrets.Single().Name.Should().Be("regcred");
    }

    [Fact]
    public void Invalid_options_fail_at_start_up_naming_each_configuration_key()
    {
        using var provider = Provider(new Dictionary<string, string?>
        {
            ["Training:Kubernetes:Namespace"] = "Training_NS",
            ["Training:Kubernetes:Image:Tag"] = "-bad tag",
            ["Training:Kubernetes:Image:PullPolicy"] = "Sometimes",
            ["Training:Kubernetes:Gpu:ResourceName"] = "gpu",
            ["Training:Kubernetes:Resources:CpuRequest"] = "8",
            ["Training:Kubernetes:Resources:MemoryLimit"] = "16GB",
            ["Training:Kubernetes:Storage:Volumes:0:Name"] = "workspace",
            ["Training:Kubernetes:Storage:Volumes:0:MountPath"] = "data",
            ["Training:Kubernetes:Environment:AWS_SECRET_ACCESS_KEY"] = "plain",
            ["Training:Kubernetes:SecretEnvironment:AWS_ACCESS_KEY_ID:Key"] = "access key",
            ["Training:Kubernetes:Job:BackoffLimit"] = "-1",
            ["Training:Kubernetes:Job:FailJobExitCodes:0"] = "0",
            ["Training:Kubernetes:Connection:Host"] = "not a url",
            ["Training:Kubernetes:Frameworks:Hugging Face:Image"] = "x y",
        });

        var act = () => provider.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value;

        var messages = act.Should().Throw<OptionsValidationException>().Which.Failures.ToList();
        string[] keys =
        [
            "Training:Kubernetes:Namespace", "Training:Kubernetes:Image:Tag", "Training:Kubernetes:Image:PullPolicy",
            "Training:Kubernetes:Gpu:ResourceName", "Training:Kubernetes:Resources:CpuRequest", "Training:Kubernetes:Resources:MemoryLimit",
            "Training:Kubernetes:Storage:Volumes:0:Name", "Training:Kubernetes:Storage:Volumes:0:MountPath",
            "Training:Kubernetes:Storage:Volumes:0 sets 0 volume sources", "Training:Kubernetes:Environment:AWS_SECRET_ACCESS_KEY",
            "Training:Kubernetes:SecretEnvironment:AWS_ACCESS_KEY_ID:Key", "Training:Kubernetes:Job:BackoffLimit",
            "Training:Kubernetes:Job:FailJobExitCodes", "Training:Kubernetes:Connection:Host",
            "Training:Kubernetes:Frameworks:Hugging Face", "Training:Kubernetes:Frameworks:Hugging Face:Image",
        ];
        foreach (var key in keys)
        {
            messages.Should().Contain(m => m.StartsWith(key, StringComparison.Ordinal), $"a message must name {key}");
        }
    }

    [Theory]
    [InlineData("80", null, "GroupControlPort is 80: it must be a TCP port, 1024 to 65535")]
    [InlineData("70000", null, "GroupControlPort is 70000: it must be a TCP port, 1024 to 65535")]
    [InlineData("29500", null, "GroupControlPort is 29500: it must differ from RendezvousPort")]
    [InlineData(null, "65535", "GroupControlPort is 65536 (unset: RendezvousPort + 1): it must be a TCP port")]
    public void A_group_control_port_that_is_no_port_or_the_rendezvous_port_fails_at_start_up_naming_the_key(string? controlPort, string? rendezvousPort, string expected)
    {
        var settings = new Dictionary<string, string?>();
        if (controlPort is not null)
        {
            settings["Training:Kubernetes:Job:GroupControlPort"] = controlPort;
        }

        if (rendezvousPort is not null)
        {
            settings["Training:Kubernetes:Job:RendezvousPort"] = rendezvousPort;
        }

        using var provider = Provider(settings);

        var act = () => provider.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().Which.Failures.Should().ContainSingle()
            .Which.Should().StartWith("Training:Kubernetes:Job:GroupControlPort").And.Contain(expected);
    }

    [Fact]
    public void The_group_control_port_binds_and_defaults_to_the_rendezvous_port_plus_one()
    {
        using var configured = Provider(new Dictionary<string, string?> { ["Training:Kubernetes:Job:GroupControlPort"] = "30000" });
        using var defaulted = Provider(new Dictionary<string, string?> { ["Training:Kubernetes:Job:RendezvousPort"] = "31000" });

        configured.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value.Job.EffectiveGroupControlPort.Should().Be(30_000);
        defaulted.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value.Job.EffectiveGroupControlPort.Should().Be(31_001);
        new KubernetesJobPolicyOptions().EffectiveGroupControlPort.Should().Be(29_501);
    }

    [Fact]
    public void The_group_restart_exit_code_cannot_be_a_fail_job_exit_code()
    {
        using var provider = Provider(new Dictionary<string, string?> { ["Training:Kubernetes:Job:FailJobExitCodes:0"] = "75" });

        var act = () => provider.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().Which.Failures.Should().ContainSingle()
            .Which.Should().StartWith("Training:Kubernetes:Job:FailJobExitCodes contains 75").And.Contain("reserved for the whole-group restart");
    }

    [Fact]
    public void Validation_runs_when_the_host_starts()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(o => o.Namespace = string.Empty);
        using var provider = services.BuildServiceProvider();
        var startup = provider.GetRequiredService<IStartupValidator>();

        var act = () => startup.Validate();

        act.Should().Throw<OptionsValidationException>().WithMessage("*Training:Kubernetes:Namespace*");
    }

    [Fact]
    public void Adding_twice_is_harmless_and_both_configurations_apply()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(o => o.Namespace = "first").AddKubernetes(o => o.Image.Tag = "9.9");
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value;
        options.Namespace.Should().Be("first");
        options.Image.Tag.Should().Be("9.9");
        services.Count(d => d.ServiceType == typeof(TrainingJobSpecBuilder)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(IValidateOptions<KubernetesExecutorOptions>)).Should().Be(1);
    }

    [Fact]
    public void The_executor_is_registered_under_its_name_and_known_to_the_client()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(o => o.Connection.Host = "http://127.0.0.1:1");
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredKeyedService<ITrainingExecutor>(KubernetesExecutorInfo.ExecutorName).Should().BeOfType<KubernetesTrainingExecutor>();
        provider.GetRequiredService<TrainingClient>().ExecutorNames.Should().Equal("kubernetes");
    }

    [Fact]
    public async Task A_host_with_only_AddKubernetes_cannot_spawn_local_processes()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(o => o.Connection.Host = "http://127.0.0.1:1");
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var client = provider.GetRequiredService<TrainingClient>();

        provider.GetRequiredService<IStartupValidator>().Validate();
        client.ExecutorNames.Should().Equal(KubernetesExecutorInfo.ExecutorName);
        provider.GetKeyedService<ITrainingExecutor>(TrainingExecutorNames.Subprocess).Should().BeNull();
        provider.GetService<VisionPlatform.Training.Subprocess.SubprocessTrainingExecutor>().Should().BeNull();
        provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>().Select(h => h.GetType().Name).Should().NotContain(n => n.Contains("Subprocess", StringComparison.Ordinal));
        var start = () => client.StartAsync(Jobs.Config("local-1").Build(), new TrainingStartOptions { Executor = TrainingExecutorNames.Subprocess });
        (await start.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.UnknownExecutor);
        FluentActions.Invoking(() => client.GetOperation(new TrainingRun(TrainingExecutorNames.Subprocess, "local-1", "local-1").ToString()))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("id");
    }

    [Fact]
    public void Default_options_are_valid()
    {
        using var provider = Provider(new Dictionary<string, string?>());
        var act = () => provider.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value;
        act.Should().NotThrow();
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
