using k8s.Models;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>Job configs and builders the tests share.</summary>
internal static class Jobs
{
    public static TrainingJobConfigBuilder Config(string jobId = "job-42", TrainingFramework? framework = null) => new()
    {
        JobId = jobId,
        Framework = framework ?? TrainingFramework.Ultralytics,
        TaskType = "object_detection",
        ModelName = "yolo11n",
        DatasetPath = "datasets/coco8",
        DatasetFormat = "yolo",
        Epochs = 5,
        BatchSize = 16,
        LearningRate = 0.001,
        ProjectId = "project-7",
    };

    public static KubernetesExecutorOptions Options(Action<KubernetesExecutorOptions>? configure = null)
    {
        var options = new KubernetesExecutorOptions();
        options.Image.Registry = "registry.example.com/vision";
        options.Image.Tag = "1.4.0";
        configure?.Invoke(options);
        return options;
    }

    public static TrainingJobSpecBuilder Builder(Action<KubernetesExecutorOptions>? configure = null, TrainerOptions? trainer = null) =>
        new(Options(configure), new FlagTrainerContract(), trainer);

    /// <summary>A valid Job from the builder, to mutate in validation tests.</summary>
    public static V1Job ValidJob(int gpus = 1) =>
        Builder().Build(Config().Apply(b => b.Resources = new TrainingResources { Gpus = gpus }).Build());

    public static T Apply<T>(this T value, Action<T> action)
    {
        action(value);
        return value;
    }
}
