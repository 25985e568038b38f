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
