namespace VisionPlatform.Training.Kubernetes;

/// <summary>Name, namespace, labels (platform, SDK and the job's own) and the annotations that identify the run.</summary>
internal sealed class MetadataStep : IJobBuildStep
{
    /// <summary>All of it: the metadata is the job's.</summary>
    public void ApplyJobParts(JobBuildContext context, JobTemplate template) => Apply(context);

    public void Apply(JobBuildContext context)
    {
        var config = context.Config;
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in config.Labels)
        {
            if (KubernetesLabelPolicy.Check(key) is { } rule)
            {
                context.Problems.Add(new($"Labels[{key}]", value, rule));
                continue;
            }

            labels[key] = value;
        }

        labels[KubernetesLabels.Name] = KubernetesLabels.AppName;
        labels[KubernetesLabels.ManagedBy] = KubernetesLabels.ManagedByValue;
        labels[KubernetesLabels.App] = KubernetesLabels.AppValue;
        labels[KubernetesLabels.JobId] = KubernetesJobNames.ToLabelValue(config.JobId);
        labels[KubernetesLabels.Framework] = KubernetesJobNames.ToLabelValue(config.Framework.Value);
        labels[KubernetesLabels.JobType] = JobTypeLabel(config.JobType);
        if (config.ProjectId is { } project)
        {
            labels[KubernetesLabels.ProjectId] = KubernetesJobNames.ToLabelValue(project);
        }

        var annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            [KubernetesLabels.JobIdAnnotation] = config.JobId,
            [KubernetesLabels.ConfigHashAnnotation] = KubernetesJobHash.Of(config, context.JobOptions),
        };
        if (config.ProjectId is { } exactProject)
        {
            // The label is for selection and may be hashed; the exact project is checked against this annotation.
            annotations[KubernetesLabels.ProjectIdAnnotation] = exactProject;
        }

        var metadata = context.Job.Metadata;
        metadata.Name = DistributionStep.IsGroup(config) ? KubernetesJobNames.GroupNameFromJobId(config.JobId) : KubernetesJobNames.FromJobId(config.JobId);
        metadata.NamespaceProperty = context.Options.Namespace;
        metadata.Labels = labels;
        metadata.Annotations = annotations;

        // The pods carry the same labels so they can be listed by job id, framework or project.
        var template = context.Job.Spec.Template.Metadata;
        template.Labels = new SortedDictionary<string, string>(labels, StringComparer.Ordinal);
        template.Annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            [KubernetesLabels.JobIdAnnotation] = config.JobId,
        };

        ApplyQueue(context, labels);
    }

    /// <summary>
    /// Kueue: the queue and WorkloadPriorityClass labels on the Job only (Kueue reads the Job's; on pods they would not
    /// queue anything), and a queued Job is created suspended, so no pod starts before Kueue admits it.
    /// </summary>
    private static void ApplyQueue(JobBuildContext context, SortedDictionary<string, string> labels)
    {
        var problems = KueuePlacement.Validate(context.Options, context.JobOptions).ToList();
        if (problems.Count > 0)
        {
            context.Problems.AddRange(problems);
            return;
        }

        var placement = KueuePlacement.For(context.Options, context.JobOptions);
        if (!placement.IsQueued)
        {
            context.Job.Spec.Suspend = null;
            return;
        }

        labels[KubernetesLabels.KueueQueueName] = placement.QueueName!;
        if (placement.WorkloadPriorityClass is { } priority)
        {
            labels[KubernetesLabels.KueuePriorityClass] = priority;
        }

        context.Job.Spec.Suspend = true;
    }

    private static string JobTypeLabel(TrainingJobType type) => type switch
    {
        TrainingJobType.Training => "training",
        TrainingJobType.Evaluation => "evaluation",
        TrainingJobType.Inference => "inference",
        TrainingJobType.Export => "export",
        _ => type.ToString().ToLowerInvariant(),
    };
}
