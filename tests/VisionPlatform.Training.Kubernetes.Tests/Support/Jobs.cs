using k8s.Models;
using VisionPlatform.Training.Testing;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>Job configs and builders the tests share.</summary>
internal static class Jobs
{
    public static TrainingJobConfigBuilder Config(string jobId = "job-42", TrainingFramework? framework = null)
    {
        var builder = SampleJobs.YoloBuilder(jobId, epochs: 5, projectId: "project-7");
        builder.Framework = framework ?? TrainingFramework.Ultralytics;
        builder.BatchSize = 16;
        builder.LearningRate = 0.001;
        return builder;
    }

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
