namespace VisionPlatform.Training.Testing;

/// <summary>
/// Valid jobs for tests, so a test says only what matters to it. <see cref="YoloBuilder"/> is an Ultralytics YOLO11n
/// object-detection job on the coco8 dataset that every executor accepts; set more properties on the builder before
/// <see cref="TrainingJobConfigBuilder.Build"/>:
/// <code>
/// var builder = SampleJobs.YoloBuilder("job-1", epochs: 3);
/// builder.Resources = new TrainingResources { Gpus = 1 };
/// var run = await executor.StartAsync(builder.Build());
/// </code>
/// </summary>
public static class SampleJobs
{
    /// <summary>The default job id of the sample jobs.</summary>
    public const string DefaultJobId = "job-1";

    /// <summary>A builder for a valid YOLO object-detection job (Ultralytics, <c>yolo11n</c>, <c>datasets/coco8</c> in YOLO format).</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="epochs">The number of epochs (default 2).</param>
    /// <param name="projectId">The project id, or <see langword="null"/> for none.</param>
    /// <param name="labels">Labels, or <see langword="null"/> for none (the builder keeps a copy).</param>
    /// <returns>A new builder; each call returns its own.</returns>
    public static TrainingJobConfigBuilder YoloBuilder(
        string jobId = DefaultJobId,
        int epochs = 2,
        string? projectId = null,
        IEnumerable<KeyValuePair<string, string>>? labels = null) =>
        new()
        {
            JobId = jobId,
            Framework = TrainingFramework.Ultralytics,
            TaskType = "object_detection",
            ModelName = "yolo11n",
            DatasetPath = "datasets/coco8",
            DatasetFormat = "yolo",
            Epochs = epochs,
            ProjectId = projectId,
            Labels = labels is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(labels, StringComparer.Ordinal),
        };

    /// <summary>A valid YOLO object-detection job, built (see <see cref="YoloBuilder"/>).</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="epochs">The number of epochs (default 2).</param>
    /// <param name="projectId">The project id, or <see langword="null"/> for none.</param>
    /// <param name="labels">Labels, or <see langword="null"/> for none.</param>
    /// <returns>The job.</returns>
    public static TrainingJobConfig Yolo(
        string jobId = DefaultJobId,
        int epochs = 2,
        string? projectId = null,
        IEnumerable<KeyValuePair<string, string>>? labels = null) =>
        YoloBuilder(jobId, epochs, projectId, labels).Build();

    /// <summary>
    /// A builder for the job a conformance request describes, without its behaviour: the YOLO sample with the request's
    /// job id, labels, project id and epochs, and the learning rate changed by <see cref="ConformanceJobRequest.Variant"/>
    /// (so different variants have different config hashes). A harness adds whatever makes its trainer behave as asked.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <returns>A new builder.</returns>
    public static TrainingJobConfigBuilder ForConformance(ConformanceJobRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var builder = YoloBuilder(request.JobId, Math.Max(1, request.ProgressEpochs), request.ProjectId, request.Labels);
        builder.LearningRate = 0.001 * (1 + request.Variant);
        return builder;
    }
}
