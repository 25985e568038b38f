using k8s;
using k8s.Models;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Kubernetes.Tests;

public class TrainingJobSpecBuilderTests
{
    [Fact]
    public void Cpu_only_job_matches_golden_yaml()
    {
        var job = Jobs.Builder().Build(Jobs.Config().Build());
        GoldenFile.Verify("cpu-only.yaml", TrainingJobSpecBuilder.ToYaml(job));
    }

    [Fact]
    public void One_gpu_job_matches_golden_yaml()
    {
        var config = Jobs.Config().Apply(b => b.Resources = new TrainingResources { Gpus = 1 }).Build();
        GoldenFile.Verify("gpu-1.yaml", TrainingJobSpecBuilder.ToYaml(Jobs.Builder().Build(config)));
    }

    [Fact]
    public void Eight_gpu_job_with_own_resources_matches_golden_yaml()
    {
        var config = Jobs.Config("Run_2026.04/Big").Apply(b =>
        {
            b.Resources = new TrainingResources { Gpus = 8, CpuRequest = "32", CpuLimit = "64", MemoryRequest = "256Gi", MemoryLimit = "512Gi" };
            b.Labels["team"] = "vision";
            b.Environment["NCCL_DEBUG"] = "INFO";
            b.Pretrained = true;
            b.AdvancedConfig = """{"mosaic": 1.0, "name": "big run"}""";
        }).Build();
        GoldenFile.Verify("gpu-8.yaml", TrainingJobSpecBuilder.ToYaml(Jobs.Builder().Build(config)));
    }

    [Fact]
    public void Resuming_ultralytics_job_gets_the_generic_flags_and_resume_in_its_advanced_config_and_matches_golden_yaml()
    {
        const string checkpoint = "checkpoints/yolo-41/weights/last.pt";
        var config = Jobs.Config("yolo-42-resume").Apply(b =>
        {
            b.Resources = new TrainingResources { Gpus = 1 };
            b.CheckpointPath = checkpoint;
            b.Resume = true;
            b.AdvancedConfig = """{"mosaic": 1.0, "name": "resumed run"}""";
        }).Build();
        var job = Jobs.Builder().Build(config);

        var args = job.Spec.Template.Spec.Containers[0].Args;
        args.Should().Equal(new FlagTrainerContract().CreateInvocation(config, new TrainerLaunchContext { OutputDirectory = "/workspace/output" }).Arguments);
        args.Should().ContainInConsecutiveOrder(
            "--checkpoint_path", checkpoint, "--resume", "--advanced_config", """{"mosaic": 1.0, "name": "resumed run","resume":"checkpoints/yolo-41/weights/last.pt"}""");
        GoldenFile.Verify("resume-ultralytics.yaml", TrainingJobSpecBuilder.ToYaml(job));
    }

    [Fact]
    public void Huggingface_job_gets_framework_overrides_and_matches_golden_yaml()
    {
        var config = Jobs.Config("hf-1", TrainingFramework.HuggingFace).Apply(b =>
        {
            b.ModelName = "google/vit-base-patch16-224";
            b.TaskType = "classification";
            b.DatasetFormat = "imagefolder";
            b.Resources = new TrainingResources { Gpus = 1 };
        }).Build();
        var job = Jobs.Builder().Build(config);

        var container = job.Spec.Template.Spec.Containers[0];
        container.Resources.Requests["memory"].ToString().Should().Be("16Gi");
        container.Resources.Limits["memory"].ToString().Should().Be("32Gi");
        container.Resources.Requests["cpu"].ToString().Should().Be("2", "CPU is not overridden for huggingface, so the executor default applies");
        container.Env.Single(e => e.Name == "HF_HOME").Value.Should().Be("/tmp/huggingface");
        job.Spec.Template.Spec.Volumes.Single(v => v.Name == "cache").EmptyDir.SizeLimit.ToString().Should().Be("10Gi");
        GoldenFile.Verify("huggingface.yaml", TrainingJobSpecBuilder.ToYaml(job));
    }

    [Fact]
    public void Custom_image_per_framework_and_per_job_match_golden_yaml()
    {
        var builder = Jobs.Builder(o => o.Frameworks["mmdet"] = new KubernetesFrameworkOptions { Image = "registry.example.com/custom/mmdet-trainer:2.1" });
        var frameworkJob = builder.Build(Jobs.Config("custom-1", "mmdet").Build());
        frameworkJob.Spec.Template.Spec.Containers[0].Image.Should().Be("registry.example.com/custom/mmdet-trainer:2.1");

        var perJob = builder.Build(Jobs.Config("custom-2").Build(), new KubernetesJobOptions { Image = "registry.example.com/experiments/yolo-patched:abc123" });
        GoldenFile.Verify("custom-image.yaml", TrainingJobSpecBuilder.ToYaml(perJob));
    }

    [Fact]
    public void Image_comes_from_the_registry_repository_pattern_and_tag()
    {
        var job = Jobs.Builder(o => o.Image.Repository = "ml/trainer-{framework}").Build(Jobs.Config(framework: TrainingFramework.Timm).Build());
        job.Spec.Template.Spec.Containers[0].Image.Should().Be("registry.example.com/vision/ml/trainer-timm:1.4.0");
        job.Spec.Template.Spec.Containers[0].ImagePullPolicy.Should().Be("IfNotPresent");
    }

    [Fact]
    public void Command_and_arguments_come_from_the_trainer_contract()
    {
        var config = Jobs.Config().Build();
        var job = Jobs.Builder().Build(config);
        var container = job.Spec.Template.Spec.Containers[0];
        var expected = new FlagTrainerContract().CreateInvocation(config, new TrainerLaunchContext { OutputDirectory = "/workspace/output" });

        container.Name.Should().Be("trainer");
        container.Command.Should().Equal("python", "train.py");
        container.Args.Should().Equal(expected.Arguments);
        container.Args.Should().ContainInOrder("--output_dir", "/workspace/output");

        var json = new TrainingJobSpecBuilder(Jobs.Options(o => o.Command = ["/opt/venv/bin/python", "-u", "/app/train.py"]), new JsonConfigTrainerContract()).Build(config);
        json.Spec.Template.Spec.Containers[0].Command.Should().Equal("/opt/venv/bin/python", "-u", "/app/train.py");
        json.Spec.Template.Spec.Containers[0].Args.Should().StartWith(["--job-id", "job-42"]);
        json.Spec.Template.Spec.Containers[0].Env.Should().Contain(e => e.Name == "CONFIG" && e.Value.Contains("\"output_dir\":\"/workspace/output\""));
    }

    [Fact]
    public void Restricted_pod_security_profile_is_applied_by_default()
    {
        var pod = Jobs.ValidJob().Spec.Template.Spec;
        pod.SecurityContext.RunAsNonRoot.Should().BeTrue();
        pod.SecurityContext.RunAsUser.Should().Be(1000);
        pod.SecurityContext.RunAsGroup.Should().Be(1000);
        pod.SecurityContext.FsGroup.Should().Be(1000);
        pod.SecurityContext.SeccompProfile.Type.Should().Be("RuntimeDefault");
        pod.AutomountServiceAccountToken.Should().BeFalse();
        var container = pod.Containers[0].SecurityContext;
        container.AllowPrivilegeEscalation.Should().BeFalse();
        container.Capabilities.Drop.Should().Equal("ALL");
        container.ReadOnlyRootFilesystem.Should().BeFalse();

        var readOnly = Jobs.Builder(o => o.Security.ReadOnlyRootFilesystem = true).Build(Jobs.Config().Build());
        readOnly.Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem.Should().BeTrue();

        var unrestricted = Jobs.Builder(o => o.Security.Restricted = false).Build(Jobs.Config().Build());
        unrestricted.Spec.Template.Spec.SecurityContext.Should().BeNull();
        unrestricted.Spec.Template.Spec.Containers[0].SecurityContext.Should().BeNull();
    }

    [Fact]
    public void Home_and_caches_point_at_writable_volumes()
    {
        var pod = Jobs.ValidJob().Spec.Template.Spec;
        var container = pod.Containers[0];
        var mounts = container.VolumeMounts.ToDictionary(m => m.MountPath, m => m.Name);
        var emptyDirs = pod.Volumes.Where(v => v.EmptyDir is not null).Select(v => v.Name).ToHashSet();

        foreach (var name in new[] { "HOME", "XDG_CACHE_HOME", "TORCH_HOME", "HF_HOME", "MPLCONFIGDIR", "YOLO_CONFIG_DIR", "TMPDIR" })
        {
            var value = container.Env.Single(e => e.Name == name).Value;
            var mount = mounts.Keys.Where(p => value == p || value.StartsWith(p + "/", StringComparison.Ordinal)).MaxBy(p => p.Length);
            mount.Should().NotBeNull($"{name}={value} must be on a mounted volume");
            emptyDirs.Should().Contain(mounts[mount!], $"{name} must be on a writable emptyDir");
        }

        pod.Volumes.Single(v => v.Name == "dshm").EmptyDir.Medium.Should().Be("Memory");
        pod.Volumes.Single(v => v.Name == "dshm").EmptyDir.SizeLimit.ToString().Should().Be("2Gi");
        mounts["/dev/shm"].Should().Be("dshm");
        mounts["/workspace"].Should().Be("workspace");
    }

    [Fact]
    public void No_secret_value_ever_appears_in_the_spec()
    {
        var trainer = new TrainerOptions
        {
            StorageSecretAccessKey = "very-secret-key-value-123",
            StorageAccessKeyId = "AKIA-SECRET-ID-456",
            StorageEndpointUrl = "https://secret-endpoint.example.com",
            MlflowTrackingUri = "http://mlflow.training.svc:5000",
        };
        var job = Jobs.Builder(trainer: trainer).Build(Jobs.Config().Apply(b => b.Resources = new TrainingResources { Gpus = 1 }).Build());
        var yaml = TrainingJobSpecBuilder.ToYaml(job);
        var json = KubernetesJson.Serialize(job);

        foreach (var secret in new[] { "very-secret-key-value-123", "AKIA-SECRET-ID-456", "secret-endpoint.example.com" })
        {
            yaml.Should().NotContain(secret);
            json.Should().NotContain(secret);
        }

        var env = job.Spec.Template.Spec.Containers[0].Env.ToDictionary(e => e.Name);
        env["AWS_SECRET_ACCESS_KEY"].Value.Should().BeNull();
        env["AWS_SECRET_ACCESS_KEY"].ValueFrom.SecretKeyRef.Should().BeEquivalentTo(new { Name = "r2-credentials", Key = "secret-key" });
        env["AWS_ACCESS_KEY_ID"].ValueFrom.SecretKeyRef.Should().BeEquivalentTo(new { Name = "r2-credentials", Key = "access-key" });
        env["AWS_S3_ENDPOINT_URL"].ValueFrom.SecretKeyRef.Should().BeEquivalentTo(new { Name = "r2-credentials", Key = "endpoint" });
        env["BACKEND_API_URL"].ValueFrom.ConfigMapKeyRef.Should().BeEquivalentTo(new { Name = "backend-config", Key = "api-url" });
        env["MLFLOW_TRACKING_URI"].Value.Should().Be("http://mlflow.training.svc:5000");
    }

    [Fact]
    public void Secret_and_config_map_names_are_configurable_and_can_be_left_out()
    {
        var job = Jobs.Builder(o =>
        {
            o.SecretEnvironment["AWS_SECRET_ACCESS_KEY"].Name = "s3-prod";
            o.SecretEnvironment["AWS_SECRET_ACCESS_KEY"].Key = "secretKey";
            o.ConfigMapEnvironment["BACKEND_API_URL"].Name = string.Empty;
            o.SecretEnvironment["WANDB_API_KEY"] = new KubernetesKeyReference { Name = "wandb", Key = "api-key", Optional = true };
        }).Build(Jobs.Config().Build());

        var env = job.Spec.Template.Spec.Containers[0].Env.ToDictionary(e => e.Name);
        env["AWS_SECRET_ACCESS_KEY"].ValueFrom.SecretKeyRef.Should().BeEquivalentTo(new { Name = "s3-prod", Key = "secretKey" });
        env.Should().NotContainKey("BACKEND_API_URL");
        env["WANDB_API_KEY"].ValueFrom.SecretKeyRef.Optional.Should().BeTrue();
    }

    [Fact]
    public void Gpu_scheduling_hints_apply_only_when_gpus_are_requested()
    {
        var cpu = Jobs.Builder().Build(Jobs.Config().Build()).Spec.Template.Spec;
        cpu.Tolerations.Should().BeNull();
        cpu.NodeSelector.Should().BeNull();
        cpu.Containers[0].Resources.Limits.Should().NotContainKey("nvidia.com/gpu");
        cpu.Containers[0].Env.Single(e => e.Name == "CUDA_VISIBLE_DEVICES").Value.Should().Be("-1");

        var gpu = Jobs.ValidJob(gpus: 2).Spec.Template.Spec;
        gpu.Tolerations.Should().ContainSingle().Which.Should().BeEquivalentTo(new { Key = "nvidia.com/gpu", OperatorProperty = "Exists", Effect = "NoSchedule" });
        gpu.NodeSelector.Should().Equal(new Dictionary<string, string> { ["accelerator"] = "nvidia-gpu" });
        gpu.Containers[0].Resources.Limits["nvidia.com/gpu"].ToString().Should().Be("2");
        gpu.Containers[0].Resources.Requests.Should().NotContainKey("nvidia.com/gpu", "GPUs are set as a limit only; the apiserver defaults the request to it");
        gpu.Containers[0].Env.Should().NotContain(e => e.Name == "CUDA_VISIBLE_DEVICES", "the device plugin decides which GPUs the container sees");

        var amd = Jobs.Builder(o =>
        {
            o.Gpu.ResourceName = "amd.com/gpu";
            o.Gpu.Tolerations = [new KubernetesTolerationOptions { Key = "amd.com/gpu", Operator = "Exists", Effect = "NoSchedule" }];
            o.Gpu.NodeSelector["accelerator"] = "amd-gpu";
        }).Build(Jobs.Config().Apply(b => b.Resources = new TrainingResources { Gpus = 1 }).Build()).Spec.Template.Spec;
        amd.Containers[0].Resources.Limits.Should().ContainKey("amd.com/gpu").And.NotContainKey("nvidia.com/gpu");
        amd.Tolerations.Single().Key.Should().Be("amd.com/gpu");
        amd.NodeSelector["accelerator"].Should().Be("amd-gpu");
    }

    [Fact]
    public void Default_resources_apply_per_resource_when_the_job_sets_none()
    {
        var defaults = Jobs.Builder().Build(Jobs.Config().Build()).Spec.Template.Spec.Containers[0].Resources;
        Quantities(defaults.Requests).Should().Equal(new Dictionary<string, string> { ["cpu"] = "2", ["memory"] = "8Gi" });
        Quantities(defaults.Limits).Should().Equal(new Dictionary<string, string> { ["cpu"] = "4", ["memory"] = "16Gi" });

        // The job sets a CPU limit only: the CPU request is not taken from the defaults (it could exceed the limit).
        var own = Jobs.Builder().Build(Jobs.Config().Apply(b => b.Resources = new TrainingResources { CpuLimit = "1" }).Build()).Spec.Template.Spec.Containers[0].Resources;
        Quantities(own.Requests).Should().Equal(new Dictionary<string, string> { ["memory"] = "8Gi" });
        Quantities(own.Limits).Should().Equal(new Dictionary<string, string> { ["cpu"] = "1", ["memory"] = "16Gi" });
    }

    [Fact]
    public void Job_policy_sets_retries_deadlines_cleanup_and_pod_failure_policy()
    {
        var spec = Jobs.ValidJob().Spec;
        spec.BackoffLimit.Should().Be(3);
        spec.ActiveDeadlineSeconds.Should().Be(86400);
        spec.TtlSecondsAfterFinished.Should().Be(86400);
        spec.Template.Spec.RestartPolicy.Should().Be("Never");
        spec.PodFailurePolicy.Rules.Should().HaveCount(2);
        spec.PodFailurePolicy.Rules[0].Action.Should().Be("FailJob");
        spec.PodFailurePolicy.Rules[0].OnExitCodes.Should().BeEquivalentTo(new { ContainerName = "trainer", OperatorProperty = "In", Values = new[] { 2 } });
        spec.PodFailurePolicy.Rules[1].Action.Should().Be("Ignore");
        spec.PodFailurePolicy.Rules[1].OnPodConditions.Single().Should().BeEquivalentTo(new { Type = "DisruptionTarget", Status = "True" });

        var custom = Jobs.Builder(o => o.Job.FailJobExitCodes = [3, 2, 3]).Build(Jobs.Config().Build()).Spec;
        custom.PodFailurePolicy.Rules[0].OnExitCodes.Values.Should().Equal([2, 3], "the apiserver requires distinct exit codes in ascending order");

        var none = Jobs.Builder(o => { o.Job.FailJobExitCodes = []; o.Job.IgnoreDisruptions = false; }).Build(Jobs.Config().Build()).Spec;
        none.PodFailurePolicy.Should().BeNull();
    }

    [Fact]
    public void Labels_and_annotations_identify_the_run()
    {
        var config = Jobs.Config("Job_ÄÖ.42").Apply(b => b.Labels["team"] = "vision").Build();
        var job = Jobs.Builder().Build(config);
        var labels = job.Metadata.Labels;

        labels["app.kubernetes.io/name"].Should().Be("visionplatform-training");
        labels["app.kubernetes.io/managed-by"].Should().Be("visionplatform-training-sdk");
        labels["app"].Should().Be("training-job");
        labels["framework"].Should().Be("ultralytics");
        labels["project-id"].Should().Be("project-7");
        labels["job-type"].Should().Be("training");
        labels["team"].Should().Be("vision");
        labels["job-id"].Should().MatchRegex("^Job_-.*-[0-9a-f]{8}$", "the id is sanitised into a label value with a hash");
        job.Metadata.Annotations["training.visionplatform.io/job-id"].Should().Be("Job_ÄÖ.42");
        job.Metadata.Annotations["training.visionplatform.io/config-hash"].Should().Be(config.ConfigHash);
        job.Spec.Template.Metadata.Labels.Should().Equal(labels);
        job.Metadata.NamespaceProperty.Should().Be("training");
        job.Metadata.Name.Should().Be(KubernetesJobNames.FromJobId("Job_ÄÖ.42"));
    }

    [Fact]
    public void A_job_label_that_collides_with_an_executor_label_is_rejected_with_its_field()
    {
        var config = Jobs.Config().Apply(b => { b.Labels["app"] = "mine"; b.Labels["job-name"] = "x"; }).Build();
        var act = () => Jobs.Builder().Build(config);
        var error = act.Should().Throw<TrainingValidationException>().Which;
        error.Errors.Select(e => e.Field).Should().BeEquivalentTo(["Labels[app]", "Labels[job-name]"]);
        error.Message.Should().Contain("Labels[app]");
    }

    [Fact]
    public void Problems_in_options_are_reported_with_kubernetes_field_paths_all_at_once()
    {
        var builder = Jobs.Builder(o =>
        {
            o.Namespace = "Training";
            o.PriorityClassName = "High_Priority";
            o.Gpu.ResourceName = "gpu";
            o.Gpu.Tolerations = [new KubernetesTolerationOptions { Key = "nvidia.com/gpu", Operator = "Exists", Value = "yes" }];
            o.Storage.SharedMemorySize = "2GB";
        });
        var act = () => builder.Build(Jobs.Config().Apply(b => b.Resources = new TrainingResources { Gpus = 1 }).Build(), new KubernetesJobOptions { Image = " bad image" });

        var error = act.Should().Throw<TrainingValidationException>().Which;
        error.Errors.Select(e => e.Field).Should().BeEquivalentTo(
        [
            "metadata.namespace",
            "spec.template.spec.priorityClassName",
            "spec.template.spec.containers[0].resources.limits[gpu]",
            "spec.template.spec.tolerations[0].operator",
            "spec.template.spec.volumes[1].emptyDir.sizeLimit",
            "spec.template.spec.containers[0].image",
        ]);
    }

    [Fact]
    public void Extra_volumes_are_mounted_from_options_and_framework_options()
    {
        var job = Jobs.Builder(o =>
        {
            o.Storage.Volumes.Add(new KubernetesVolumeOptions { Name = "datasets", MountPath = "/datasets", PersistentVolumeClaim = "datasets-pvc", ReadOnly = true });
            o.Frameworks["ultralytics"] = new KubernetesFrameworkOptions();
            o.Frameworks["ultralytics"].Volumes.Add(new KubernetesVolumeOptions { Name = "weights", MountPath = "/weights", ConfigMap = "yolo-weights" });
        }).Build(Jobs.Config().Build());

        var pod = job.Spec.Template.Spec;
        pod.Volumes.Select(v => v.Name).Should().Equal("workspace", "dshm", "tmp", "cache", "datasets", "weights");
        pod.Volumes.Single(v => v.Name == "datasets").PersistentVolumeClaim.ClaimName.Should().Be("datasets-pvc");
        pod.Containers[0].VolumeMounts.Single(m => m.Name == "datasets").ReadOnlyProperty.Should().BeTrue();
        pod.Containers[0].VolumeMounts.Single(m => m.Name == "weights").MountPath.Should().Be("/weights");
    }

    [Fact]
    public void Service_account_priority_class_and_pull_secrets_come_from_options()
    {
        var pod = Jobs.Builder(o =>
        {
            o.ServiceAccountName = "trainer";
            o.PriorityClassName = "training-high";
            o.Image.PullSecrets.Add("registry-pull");
        }).Build(Jobs.Config().Build()).Spec.Template.Spec;

        pod.ServiceAccountName.Should().Be("trainer");
        pod.PriorityClassName.Should().Be("training-high");
        pod.ImagePullSecrets.Single().Name.Should().Be("registry-pull");
    }

    [Fact]
    public void The_same_config_builds_the_same_yaml()
    {
        var a = TrainingJobSpecBuilder.ToYaml(Jobs.Builder().Build(Jobs.Config().Build()));
        var b = TrainingJobSpecBuilder.ToYaml(Jobs.Builder().Build(Jobs.Config().Build()));
        a.Should().Be(b);
        KubernetesYaml.Deserialize<V1Job>(a).Metadata.Name.Should().Be("training-job-job-42");
    }

    private static Dictionary<string, string> Quantities(IDictionary<string, k8s.Models.ResourceQuantity>? map) =>
        (map ?? new Dictionary<string, k8s.Models.ResourceQuantity>()).ToDictionary(p => p.Key, p => p.Value.ToString());
}
