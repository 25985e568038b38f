using k8s;
using k8s.Models;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// The builder copies a validated per-options template and validates only the job's own parts. These tests hold that
/// fast path to the full one (every step on an empty Job, the whole Job validated): same Job, same problems.
/// </summary>
public class JobTemplateTests
{
    public static TheoryData<string> OptionSets => [.. OptionVariants.Keys];

    public static TheoryData<string> ValidOptionSets => [.. OptionVariants.Keys.Where(k => k != InvalidOptions)];

    [Theory]
    [MemberData(nameof(ValidOptionSets))]
    public void Every_job_equals_the_job_built_from_scratch(string optionSet)
    {
        var builder = new TrainingJobSpecBuilder(OptionVariants[optionSet](), new FlagTrainerContract(), Trainer);
        foreach (var (name, config, jobOptions) in ValidJobs())
        {
            // Twice: the first build of a framework creates its template, the second only copies it.
            for (var round = 0; round < 2; round++)
            {
                var job = builder.Build(config, jobOptions);
                var expected = builder.BuildFromScratch(config, jobOptions);
                KubernetesJson.Serialize(job).Should().Be(KubernetesJson.Serialize(expected), $"{optionSet}/{name}, round {round}");
                KubernetesJobValidator.Validate(job).Should().BeEmpty($"{optionSet}/{name}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(OptionSets))]
    public void Every_problem_of_a_job_is_reported_as_by_the_full_build(string optionSet)
    {
        var builder = new TrainingJobSpecBuilder(OptionVariants[optionSet](), new FlagTrainerContract(), Trainer);
        var jobs = optionSet == InvalidOptions ? InvalidJobs().Concat(ValidJobs()) : InvalidJobs();
        foreach (var (name, config, jobOptions) in jobs)
        {
            // Twice: with a new template, then with a cached one.
            for (var round = 0; round < 2; round++)
            {
                var fast = () => builder.Build(config, jobOptions);
                var full = () => builder.BuildFromScratch(config, jobOptions);
                var expected = full.Should().Throw<TrainingValidationException>($"{optionSet}/{name}").Which.Errors;
                fast.Should().Throw<TrainingValidationException>($"{optionSet}/{name}").Which.Errors.Should().Equal(expected, $"{optionSet}/{name}");
            }
        }
    }

    [Fact]
    public void Problems_in_options_are_reported_on_every_build_not_only_the_first()
    {
        var builder = Jobs.Builder(o => o.Storage.SharedMemorySize = "2GB");
        for (var i = 0; i < 3; i++)
        {
            var act = () => builder.Build(Jobs.Config($"job-{i}").Build());
            act.Should().Throw<TrainingValidationException>().Which.Errors.Should().ContainSingle()
                .Which.Field.Should().Be("spec.template.spec.volumes[1].emptyDir.sizeLimit");
        }
    }

    [Fact]
    public void Changing_a_returned_job_does_not_change_later_jobs()
    {
        var builder = Jobs.Builder(o =>
        {
            o.Image.PullSecrets.Add("registry-pull");
            o.Storage.Volumes.Add(new KubernetesVolumeOptions { Name = "datasets", MountPath = "/datasets", PersistentVolumeClaim = "datasets-pvc" });
        });
        var config = Jobs.Config().Apply(b => b.Resources = new TrainingResources { Gpus = 1 }).Build();
        var expected = KubernetesJson.Serialize(builder.Build(config));

        var first = builder.Build(config);
        var spec = first.Spec;
        var pod = spec.Template.Spec;
        var container = pod.Containers[0];
        spec.BackoffLimit = 99;
        spec.PodFailurePolicy.Rules[0].OnExitCodes.Values.Add(42);
        spec.PodFailurePolicy.Rules[1].OnPodConditions[0].Status = "False";
        pod.Volumes[0].EmptyDir.Medium = "Memory";
        pod.Volumes[4].PersistentVolumeClaim.ClaimName = "other";
        pod.Volumes.Add(new V1Volume { Name = "extra" });
        pod.Tolerations[0].Key = "changed";
        pod.NodeSelector["changed"] = "yes";
        pod.ImagePullSecrets[0].Name = "changed";
        pod.SecurityContext.SeccompProfile.Type = "Unconfined";
        container.Image = "changed";
        container.Command.Add("--changed");
        container.Env[0].Value = "changed";
        container.Env.First(e => e.ValueFrom is not null).ValueFrom.SecretKeyRef.Name = "changed";
        container.Resources.Limits["cpu"] = new ResourceQuantity("99");
        container.SecurityContext.Capabilities.Drop.Add("changed");
        container.VolumeMounts[0].MountPath = "/changed";
        first.Metadata.Labels["changed"] = "yes";

        KubernetesJson.Serialize(builder.Build(config)).Should().Be(expected);
    }

    [Fact]
    public void Parallel_builds_give_the_same_jobs_as_one_at_a_time()
    {
        var builder = Jobs.Builder();
        var configs = Enumerable.Range(0, 64)
            .Select(i => Jobs.Config($"job-{i}", i % 2 == 0 ? TrainingFramework.Ultralytics : TrainingFramework.HuggingFace)
                .Apply(b => b.Resources = new TrainingResources { Gpus = i % 3 }).Build())
            .ToArray();
        var parallel = new string[configs.Length];
        Parallel.For(0, configs.Length, i => parallel[i] = KubernetesJson.Serialize(builder.Build(configs[i])));

        parallel.Should().Equal(configs.Select(c => KubernetesJson.Serialize(builder.BuildFromScratch(c))));
    }

    private const string InvalidOptions = "invalid-options";

    private static readonly TrainerOptions Trainer = new() { MlflowTrackingUri = "http://mlflow.training.svc:5000" };

    private static readonly Dictionary<string, Func<KubernetesExecutorOptions>> OptionVariants = new()
    {
        ["defaults"] = () => Jobs.Options(),
        ["everything"] = () => Jobs.Options(o =>
        {
            o.ServiceAccountName = "trainer";
            o.PriorityClassName = "training-high";
            o.Image.PullSecrets.Add("registry-pull");
            o.Image.PullSecrets.Add("mirror-pull");
            o.Environment["OPTION_VALUE"] = "from-options";
            o.Environment["NCCL_DEBUG"] = "WARN";
            o.SecretEnvironment["WANDB_API_KEY"] = new KubernetesKeyReference { Name = "wandb", Key = "api-key", Optional = true };
            o.ConfigMapEnvironment["HOME"] = new KubernetesKeyReference { Name = "paths", Key = "home" };
            o.Storage.WorkspaceSizeLimit = "50Gi";
            o.Storage.CacheSizeLimit = "20Gi";
            o.Storage.Volumes.Add(new KubernetesVolumeOptions { Name = "datasets", MountPath = "/datasets", PersistentVolumeClaim = "datasets-pvc", ReadOnly = true, SubPath = "coco" });
            o.Storage.Volumes.Add(new KubernetesVolumeOptions { Name = "scratch", MountPath = "/scratch", EmptyDir = true, EmptyDirMedium = "Memory", SizeLimit = "1Gi" });
            o.Storage.Volumes.Add(new KubernetesVolumeOptions { Name = "certs", MountPath = "/certs", Secret = "ca-certs", ReadOnly = true });
            o.Frameworks["ultralytics"] = new KubernetesFrameworkOptions { CpuRequest = "3", MemoryLimit = "24Gi", SharedMemorySize = "4Gi" };
            o.Frameworks["ultralytics"].Environment["YOLO_OFFLINE"] = "1";
            o.Frameworks["ultralytics"].Volumes.Add(new KubernetesVolumeOptions { Name = "weights", MountPath = "/weights", ConfigMap = "yolo-weights" });
            o.Frameworks["mmdet"] = new KubernetesFrameworkOptions { Image = "registry.example.com/custom/mmdet-trainer:2.1" };
            o.Gpu.ResourceName = "amd.com/gpu";
            o.Gpu.Tolerations = [new KubernetesTolerationOptions { Key = "amd.com/gpu", Operator = "Exists", Effect = "NoSchedule" }, new KubernetesTolerationOptions { Key = "dedicated", Operator = "Equal", Value = "training", Effect = "NoExecute", TolerationSeconds = 60 }];
            o.Gpu.NodeSelector["accelerator"] = "amd-gpu";
            o.Job.FailJobExitCodes = [2, 3];
            o.Job.IgnoreDisruptions = false;
            o.Security.ReadOnlyRootFilesystem = true;
            o.Security.AutomountServiceAccountToken = true;
        }),
        ["unrestricted"] = () => Jobs.Options(o =>
        {
            o.Security.Restricted = false;
            o.Security.ReadOnlyRootFilesystem = true;
            o.Job.FailJobExitCodes = [];
        }),
        [InvalidOptions] = () => Jobs.Options(o =>
        {
            o.PriorityClassName = "High_Priority";
            o.Storage.SharedMemorySize = "2GB";
        }),
    };

    private static IEnumerable<(string Name, TrainingJobConfig Config, KubernetesJobOptions? JobOptions)> ValidJobs()
    {
        yield return ("cpu", Jobs.Config("cpu-1").Build(), null);
        yield return ("gpu-1", Jobs.Config("gpu-1").Apply(b => b.Resources = new TrainingResources { Gpus = 1 }).Build(), null);
        yield return ("gpu-8-own-resources", Jobs.Config("Run_2026.04/Big").Apply(b =>
        {
            b.Resources = new TrainingResources { Gpus = 8, CpuRequest = "32", CpuLimit = "64", MemoryRequest = "256Gi", MemoryLimit = "512Gi" };
            b.Labels["team"] = "vision";
        }).Build(), null);
        yield return ("cpu-limit-only", Jobs.Config("cpu-limit").Apply(b => b.Resources = new TrainingResources { CpuLimit = "1" }).Build(), null);
        yield return ("memory-only-gpu-2", Jobs.Config("mem-2").Apply(b => b.Resources = new TrainingResources { Gpus = 2, MemoryRequest = "1Gi" }).Build(), null);
        yield return ("environment", Jobs.Config("env-1").Apply(b =>
        {
            b.Environment["NCCL_DEBUG"] = "INFO";
            b.Environment["OPTION_VALUE"] = "from-job";
            b.Environment["WANDB_API_KEY"] = "plain-value-a-reference-replaces";
            b.Environment["A_FIRST"] = "sorts first";
        }).Build(), null);
        yield return ("huggingface-gpu", Jobs.Config("hf-1", TrainingFramework.HuggingFace).Apply(b =>
        {
            b.ModelName = "google/vit-base-patch16-224";
            b.TaskType = "classification";
            b.DatasetFormat = "imagefolder";
            b.Resources = new TrainingResources { Gpus = 1 };
        }).Build(), null);
        yield return ("custom-framework", Jobs.Config("custom-1", "mmdet").Build(), null);
        yield return ("image-per-job", Jobs.Config("custom-2").Build(), new KubernetesJobOptions { Image = "registry.example.com/experiments/yolo-patched:abc123" });
        yield return ("long-unicode-id", Jobs.Config("Job_ÄÖ.42-" + new string('x', 80)).Apply(b => b.ProjectId = "Project Ω").Build(), null);
        yield return ("evaluation", Jobs.Config("eval-1").Apply(b => b.JobType = TrainingJobType.Evaluation).Build(), null);
    }

    private static IEnumerable<(string Name, TrainingJobConfig Config, KubernetesJobOptions? JobOptions)> InvalidJobs()
    {
        yield return ("reserved-labels", Jobs.Config("bad-1").Apply(b => { b.Labels["app"] = "mine"; b.Labels["job-name"] = "x"; }).Build(), null);
        yield return ("reserved-and-own-labels", Jobs.Config("bad-2").Apply(b => { b.Labels["framework"] = "mine"; b.Labels["team"] = "vision"; }).Build(), null);
        yield return ("bad-image", Jobs.Config("bad-5").Build(), new KubernetesJobOptions { Image = " bad image" });
        yield return ("empty-image", Jobs.Config("bad-6").Build(), new KubernetesJobOptions { Image = string.Empty });
        yield return ("bad-image-own-resources-and-label", Jobs.Config("bad-8").Apply(b =>
        {
            b.Resources = new TrainingResources { Gpus = 2, MemoryRequest = "4Gi" };
            b.Labels["job-type"] = "mine";
        }).Build(), new KubernetesJobOptions { Image = "image " });
    }
}
