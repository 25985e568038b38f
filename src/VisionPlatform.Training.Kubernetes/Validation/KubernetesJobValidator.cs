using System.Globalization;
using System.Reflection;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The apiserver's validation of a <c>batch/v1</c> Job create (ValidateJob, ValidateObjectMeta, ValidateJobSpec,
/// ValidatePodTemplateSpec), run locally so a bad Job is reported before any API call, with the field path the
/// apiserver would use. Covers names, labels and annotations, counts, restart and pod failure policies, completion
/// modes, selectors, containers, environment, resources (GPUs included), volumes, tolerations and pod fields.
/// </summary>
public static class KubernetesJobValidator
{
    private const int MaxAnnotationBytes = 256 * 1024;

    private static readonly PropertyInfo[] VolumeSources = typeof(V1Volume).GetProperties()
        .Where(p => p.Name != nameof(V1Volume.Name) && p.PropertyType.IsClass && p.PropertyType != typeof(string))
        .ToArray();

    /// <summary>Checks a Job as the apiserver would on create.</summary>
    /// <param name="job">The Job.</param>
    /// <returns>Every problem, each with its field path; empty when the apiserver would accept the Job.</returns>
    public static IReadOnlyList<TrainingValidationError> Validate(V1Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var e = new Errors();
        ValidateMetadata(e, job);
        if (job.Spec is null)
        {
            e.Add("spec", null, "is required");
            return e.List;
        }

        ValidateJobSpec(e, job);
        return e.List;
    }

    /// <summary>
    /// Checks the parts of a Job that <see cref="TrainingJobSpecBuilder"/> fills in per job, in a copy of a template
    /// that passed <see cref="Validate"/>: metadata (name, namespace, labels, annotations), the pod template's labels
    /// and annotations (with the selector rules on them), and each container's image, environment and resources.
    /// Everything else in such a Job comes unchanged from the template. Empty exactly when <see cref="Validate"/> of
    /// the whole Job would be; the builder runs <see cref="Validate"/> for the messages when it is not.
    /// </summary>
    internal static IReadOnlyList<TrainingValidationError> ValidateJobParts(V1Job job)
    {
        var e = new Errors();
        ValidateMetadata(e, job);
        if (job.Spec?.Template is not { } template)
        {
            e.Add("spec.template", null, "is required");
            return e.List;
        }

        // The only Job spec rule that reads a per-job field: Indexed Jobs' pod hostnames derive from the name.
        ValidateIndexed(e, job, job.Spec.CompletionMode == "Indexed");
        ValidateSelector(e, job.Spec);
        ValidateLabels(e, "spec.template.metadata.labels", template.Metadata?.Labels);
        ValidateAnnotations(e, "spec.template.metadata.annotations", template.Metadata?.Annotations);
        PodSpecValidator.ValidateContainerJobParts(e, "spec.template.spec.containers", template.Spec?.Containers);
        return e.List;
    }

    private static void ValidateMetadata(Errors e, V1Job job)
    {
        var meta = job.Metadata;
        if (meta is null || (string.IsNullOrEmpty(meta.Name) && string.IsNullOrEmpty(meta.GenerateName)))
        {
            e.Add("metadata.name", null, "is required: set name or generateName");
        }
        else if (!string.IsNullOrEmpty(meta.Name))
        {
            if (!NameSyntax.IsDnsSubdomain(meta.Name))
            {
                e.Add("metadata.name", meta.Name, NameSyntax.DnsSubdomainRule);
            }
            else if (meta.Name.Length > 63 && job.Spec?.ManualSelector != true)
            {
                e.Add("metadata.name", meta.Name, "must be no more than 63 characters: the Job controller copies it into the pods' job-name label (the apiserver reports this at spec.template.labels)");
            }
        }
        else
        {
            // generateName is checked with its trailing '-' masked; the server truncates it to 58 characters.
            var prefix = meta.GenerateName!.EndsWith('-') ? meta.GenerateName[..^1] + "a" : meta.GenerateName;
            if (!NameSyntax.IsDnsSubdomain(prefix))
            {
                e.Add("metadata.generateName", meta.GenerateName, NameSyntax.DnsSubdomainRule);
            }
        }

        if (meta is not null && !string.IsNullOrEmpty(meta.NamespaceProperty) && !NameSyntax.IsDnsLabel(meta.NamespaceProperty))
        {
            e.Add("metadata.namespace", meta.NamespaceProperty, NameSyntax.DnsLabelRule);
        }

        ValidateLabels(e, "metadata.labels", meta?.Labels);
        ValidateAnnotations(e, "metadata.annotations", meta?.Annotations);
    }

    private static void ValidateLabels(Errors e, string path, IDictionary<string, string>? labels)
    {
        foreach (var (key, value) in labels ?? new Dictionary<string, string>())
        {
            if (!NameSyntax.IsQualifiedName(key))
            {
                e.Add($"{path}[{key}]", key, "key " + NameSyntax.QualifiedNameRule);
            }

            if (!NameSyntax.IsLabelValue(value))
            {
                e.Add($"{path}[{key}]", value, NameSyntax.LabelValueRule);
            }
        }
    }

    private static void ValidateAnnotations(Errors e, string path, IDictionary<string, string>? annotations)
    {
        long total = 0;
        foreach (var (key, value) in annotations ?? new Dictionary<string, string>())
        {
            if (!NameSyntax.IsQualifiedName(key?.ToLowerInvariant()))
            {
                e.Add($"{path}[{key}]", key, "key " + NameSyntax.QualifiedNameRule);
            }

            total += System.Text.Encoding.UTF8.GetByteCount(key ?? string.Empty) + System.Text.Encoding.UTF8.GetByteCount(value ?? string.Empty);
        }

        if (total > MaxAnnotationBytes)
        {
            e.Add(path, $"({total} bytes)", $"must have at most {MaxAnnotationBytes} bytes in total (keys and values)");
        }
    }

    private static void ValidateJobSpec(Errors e, V1Job job)
    {
        var spec = job.Spec;
        NonNegative(e, "spec.parallelism", spec.Parallelism);
        NonNegative(e, "spec.completions", spec.Completions);
        NonNegative(e, "spec.backoffLimit", spec.BackoffLimit);
        NonNegative(e, "spec.activeDeadlineSeconds", spec.ActiveDeadlineSeconds);
        NonNegative(e, "spec.ttlSecondsAfterFinished", spec.TtlSecondsAfterFinished);
        NonNegative(e, "spec.backoffLimitPerIndex", spec.BackoffLimitPerIndex);
        NonNegative(e, "spec.maxFailedIndexes", spec.MaxFailedIndexes);

        var indexed = spec.CompletionMode == "Indexed";
        if (spec.CompletionMode is not (null or "NonIndexed" or "Indexed"))
        {
            e.Add("spec.completionMode", spec.CompletionMode, "supported values: \"NonIndexed\", \"Indexed\"");
        }

        ValidateIndexed(e, job, indexed);
        ValidateSuccessPolicy(e, spec, indexed);

        if (spec.ManagedBy is { } managedBy)
        {
            var slash = managedBy.IndexOf('/', StringComparison.Ordinal);
            if (managedBy.Length > 63 || slash <= 0 || slash == managedBy.Length - 1 || !NameSyntax.IsDnsSubdomain(managedBy[..slash]))
            {
                e.Add("spec.managedBy", managedBy, "must be a domain-prefixed path of at most 63 characters, such as 'example.com/controller'");
            }
        }

        var template = spec.Template;
        if (template is null)
        {
            e.Add("spec.template", null, "is required");
            return;
        }

        ValidateSelector(e, spec);
        ValidateLabels(e, "spec.template.metadata.labels", template.Metadata?.Labels);
        ValidateAnnotations(e, "spec.template.metadata.annotations", template.Metadata?.Annotations);

        var pod = template.Spec;
        if (pod is null)
        {
            e.Add("spec.template.spec", null, "is required");
            return;
        }

        switch (pod.RestartPolicy)
        {
            case null or "" or "Always":
                e.Add("spec.template.spec.restartPolicy", pod.RestartPolicy, "is required: valid values are \"OnFailure\" and \"Never\" (empty defaults to Always, which a Job does not allow)");
                break;
            case "OnFailure" or "Never":
                break;
            default:
                e.Add("spec.template.spec.restartPolicy", pod.RestartPolicy, "supported values: \"OnFailure\", \"Never\"");
                break;
        }

        if (spec.PodFailurePolicy is { } failurePolicy)
        {
            if (pod.RestartPolicy is "OnFailure")
            {
                e.Add("spec.template.spec.restartPolicy", pod.RestartPolicy, "only \"Never\" is supported when podFailurePolicy is specified");
            }

            ValidatePodFailurePolicy(e, failurePolicy, spec, pod);
        }

        if (spec.PodReplacementPolicy is { } replacement)
        {
            if (replacement is not ("TerminatingOrFailed" or "Failed"))
            {
                e.Add("spec.podReplacementPolicy", replacement, "supported values: \"TerminatingOrFailed\", \"Failed\"");
            }
            else if (spec.PodFailurePolicy is not null && replacement != "Failed")
            {
                e.Add("spec.podReplacementPolicy", replacement, "must be \"Failed\" when podFailurePolicy is specified");
            }
        }

        PodSpecValidator.Validate(e, "spec.template.spec", pod);
    }

    private static void ValidateIndexed(Errors e, V1Job job, bool indexed)
    {
        var spec = job.Spec;
        if (indexed)
        {
            // Defaulting runs first: with neither completions nor parallelism set, completions becomes 1.
            if (spec.Completions is null && spec.Parallelism is not null)
            {
                e.Add("spec.completions", null, "is required when completion mode is Indexed");
            }

            if (spec.Parallelism > 100_000)
            {
                e.Add("spec.parallelism", Show(spec.Parallelism), "must be less than or equal to 100000 when completion mode is Indexed");
            }

            if (spec.Completions is > 0 and var completions && job.Metadata?.Name is { Length: > 0 } name)
            {
                var host = $"{name}-{completions - 1}";
                if (!NameSyntax.IsDnsLabel(host))
                {
                    e.Add("metadata.name", name, $"will not be able to create pods with the invalid DNS label hostname '{host}'");
                }
            }
        }
        else
        {
            if (spec.BackoffLimitPerIndex is not null)
            {
                e.Add("spec.backoffLimitPerIndex", Show(spec.BackoffLimitPerIndex), "requires Indexed completion mode");
            }

            if (spec.MaxFailedIndexes is not null)
            {
                e.Add("spec.maxFailedIndexes", Show(spec.MaxFailedIndexes), "requires Indexed completion mode");
            }
        }

        if (spec.MaxFailedIndexes is { } maxFailed)
        {
            if (spec.BackoffLimitPerIndex is null)
            {
                e.Add("spec.maxFailedIndexes", Show(maxFailed), "requires backoffLimitPerIndex");
            }

            if (maxFailed > 100_000 || (spec.Completions is { } c && maxFailed > c))
            {
                e.Add("spec.maxFailedIndexes", Show(maxFailed), "must be less than or equal to completions and to 100000");
            }
        }

        if (spec.Completions > 100_000 && spec.BackoffLimitPerIndex is not null)
        {
            if (spec.MaxFailedIndexes is null or > 10_000)
            {
                e.Add("spec.maxFailedIndexes", Show(spec.MaxFailedIndexes), "is required and must be at most 10000 when completions exceed 100000 with backoffLimitPerIndex");
            }

            if (spec.Parallelism > 10_000)
            {
                e.Add("spec.parallelism", Show(spec.Parallelism), "must be at most 10000 when completions exceed 100000 with backoffLimitPerIndex");
            }
        }
    }

    private static void ValidateSuccessPolicy(Errors e, V1JobSpec spec, bool indexed)
    {
        if (spec.SuccessPolicy is not { } policy)
        {
            return;
        }

        if (!indexed)
        {
            e.Add("spec.successPolicy", null, "requires Indexed completion mode");
        }

        if (policy.Rules is not { Count: > 0 })
        {
            e.Add("spec.successPolicy.rules", null, "at least one rule must be specified when successPolicy is specified");
            return;
        }

        for (var i = 0; i < policy.Rules.Count; i++)
        {
            var rule = policy.Rules[i];
            if (rule.SucceededCount is null && string.IsNullOrEmpty(rule.SucceededIndexes))
            {
                e.Add($"spec.successPolicy.rules[{i}]", null, "must specify succeededCount or succeededIndexes");
            }

            if (rule.SucceededCount is { } count && (count < 0 || (spec.Completions is { } c && count > c)))
            {
                e.Add($"spec.successPolicy.rules[{i}].succeededCount", Show(count), "must be between 0 and completions");
            }
        }
    }

    private static void ValidateSelector(Errors e, V1JobSpec spec)
    {
        var labels = spec.Template.Metadata?.Labels ?? new Dictionary<string, string>();
        if (spec.ManualSelector != true)
        {
            if (spec.Selector is not null)
            {
                e.Add("spec.selector", null, "`selector` not auto-generated: leave it unset unless manualSelector is true");
            }

            foreach (var reserved in new[] { "controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name" })
            {
                if (labels.TryGetValue(reserved, out var value))
                {
                    e.Add($"spec.template.metadata.labels[{reserved}]", value, "is set by the Job controller; leave it unset unless manualSelector is true");
                }
            }

            return;
        }

        if (spec.Selector is null)
        {
            e.Add("spec.selector", null, "is required when manualSelector is true");
            return;
        }

        foreach (var (key, value) in spec.Selector.MatchLabels ?? new Dictionary<string, string>())
        {
            if (!labels.TryGetValue(key, out var actual) || actual != value)
            {
                e.Add("spec.template.metadata.labels", null, "`selector` does not match template `labels`");
                return;
            }
        }
    }

    private static void ValidatePodFailurePolicy(Errors e, V1PodFailurePolicy policy, V1JobSpec spec, V1PodSpec pod)
    {
        var rules = policy.Rules ?? [];
        if (rules.Count > 20)
        {
            e.Add("spec.podFailurePolicy.rules", Show(rules.Count), "must have at most 20 rules");
        }

        var containers = (pod.Containers ?? []).Select(c => c.Name).Concat((pod.InitContainers ?? []).Select(c => c.Name)).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < rules.Count; i++)
        {
            var path = $"spec.podFailurePolicy.rules[{i}]";
            var rule = rules[i];
            switch (rule.Action)
            {
                case null or "":
                    e.Add($"{path}.action", null, "is required: one of \"Count\", \"FailIndex\", \"FailJob\", \"Ignore\"");
                    break;
                case "Count" or "FailJob" or "Ignore":
                    break;
                case "FailIndex":
                    if (spec.BackoffLimitPerIndex is null)
                    {
                        e.Add($"{path}.action", rule.Action, "FailIndex requires backoffLimitPerIndex");
                    }

                    break;
                default:
                    e.Add($"{path}.action", rule.Action, "supported values: \"Count\", \"FailIndex\", \"FailJob\", \"Ignore\"");
                    break;
            }

            if (rule.OnExitCodes is not null && rule.OnPodConditions is not null)
            {
                e.Add(path, null, "specifying both OnExitCodes and OnPodConditions is not supported");
            }
            else if (rule.OnExitCodes is null && rule.OnPodConditions is null)
            {
                e.Add(path, null, "specifying one of OnExitCodes and OnPodConditions is required");
            }

            if (rule.OnExitCodes is { } exit)
            {
                ValidateExitCodes(e, $"{path}.onExitCodes", exit, containers);
            }

            if (rule.OnPodConditions is { } conditions)
            {
                if (conditions.Count > 20)
                {
                    e.Add($"{path}.onPodConditions", Show(conditions.Count), "must have at most 20 patterns");
                }

                for (var j = 0; j < conditions.Count; j++)
                {
                    if (!NameSyntax.IsQualifiedName(conditions[j].Type))
                    {
                        e.Add($"{path}.onPodConditions[{j}].type", conditions[j].Type, NameSyntax.QualifiedNameRule);
                    }

                    if (conditions[j].Status is not (null or "" or "True" or "False" or "Unknown"))
                    {
                        e.Add($"{path}.onPodConditions[{j}].status", conditions[j].Status, "supported values: \"True\", \"False\", \"Unknown\"");
                    }
                }
            }
        }
    }

    private static void ValidateExitCodes(Errors e, string path, V1PodFailurePolicyOnExitCodesRequirement exit, HashSet<string> containers)
    {
        if (exit.ContainerName is { } container && !containers.Contains(container))
        {
            e.Add($"{path}.containerName", container, "must be one of the container or initContainer names in the pod template");
        }

        if (exit.OperatorProperty is not ("In" or "NotIn"))
        {
            e.Add($"{path}.operator", exit.OperatorProperty, "supported values: \"In\", \"NotIn\"");
        }

        var values = exit.Values ?? [];
        if (values.Count is 0 or > 255)
        {
            e.Add($"{path}.values", Show(values.Count), "must have between 1 and 255 exit codes");
        }

        var seen = new HashSet<int>();
        for (var i = 0; i < values.Count; i++)
        {
            if (!seen.Add(values[i]))
            {
                e.Add($"{path}.values[{i}]", Show(values[i]), "duplicate value: each exit code may appear once");
            }
            else if (i > 0 && values[i] < values[i - 1])
            {
                e.Add($"{path}.values[{i}]", Show(values[i]), "must be ordered: exit codes are listed in ascending order");
            }

            if (values[i] == 0 && exit.OperatorProperty == "In")
            {
                e.Add($"{path}.values[{i}]", "0", "must not be 0 for the In operator");
            }
        }
    }

    internal static void NonNegative(Errors e, string path, long? value)
    {
        if (value < 0)
        {
            e.Add(path, Show(value), "must be greater than or equal to 0");
        }
    }

    internal static string? Show(long? value) => value?.ToString(CultureInfo.InvariantCulture);

    internal static int CountVolumeSources(V1Volume volume) => VolumeSources.Count(p => p.GetValue(volume) is not null);
}

/// <summary>Collects problems with their field paths.</summary>
internal sealed class Errors
{
    public List<TrainingValidationError> List { get; } = [];

    public void Add(string path, string? value, string rule) =>
        List.Add(new TrainingValidationError(path, value is { Length: > 80 } ? string.Concat(value.AsSpan(0, 77), "...") : value, rule));
}
