using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The headless Service of a torchrun group: it gives every pod of the Indexed Job the name
/// <c>&lt;job&gt;-&lt;index&gt;.&lt;service&gt;</c>, so the agents find rank 0's pod at a stable name. It publishes
/// not-ready addresses (the trainer container has no readiness probe, and peers must resolve each other while the group
/// forms, before any pod could be Ready: kubernetes#117819). It carries the Job's name and labels; the executor makes
/// the Job its owner, so the garbage collector deletes it with the Job.
/// </summary>
internal static class GroupService
{
    /// <summary>The Service's name: the Job's own (a Job and a Service may share a name; it is already short enough).</summary>
    public static string NameFor(string jobName) => jobName;

    /// <summary>Rank 0's stable hostname: the rendezvous address every agent dials.</summary>
    public static string RendezvousHost(string jobName) => $"{jobName}-0.{NameFor(jobName)}";

    /// <summary>The Service for a Job built by <see cref="TrainingJobSpecBuilder"/>, or <see langword="null"/> for a job that is no group.</summary>
    public static V1Service? For(TrainingJobConfig config, V1Job job)
    {
        if (!DistributionStep.IsGroup(config))
        {
            return null;
        }

        var name = job.Metadata.Name;
        return new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = new V1ObjectMeta
            {
                Name = NameFor(name),
                NamespaceProperty = job.Metadata.NamespaceProperty,
                Labels = new SortedDictionary<string, string>(job.Metadata.Labels, StringComparer.Ordinal),
                Annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
                {
                    [KubernetesLabels.JobIdAnnotation] = config.JobId,
                },
            },
            Spec = new V1ServiceSpec
            {
                ClusterIP = "None",
                PublishNotReadyAddresses = true,
                Selector = new SortedDictionary<string, string>(StringComparer.Ordinal) { [JobNameLabel] = name },
            },
        };
    }

    /// <summary>The label the Job controller puts on every pod of a Job (its name).</summary>
    public const string JobNameLabel = "batch.kubernetes.io/job-name";

    /// <summary>
    /// What the apiserver would refuse: a Service name must be a DNS-1035 label (a letter first), and every pod's hostname
    /// <c>&lt;job&gt;-&lt;index&gt;</c> a DNS-1123 label.
    /// </summary>
    public static IEnumerable<TrainingValidationError> Validate(V1Service service, V1Job job)
    {
        var name = service.Metadata.Name;
        if (!NameSyntax.IsDnsLabel(name) || !char.IsAsciiLetterLower(name[0]))
        {
            yield return new("service.metadata.name", name, "a Service name must be a DNS-1035 label: at most 63 lower-case letters, digits and '-', starting with a letter and ending with a letter or digit");
        }

        var lastHost = $"{job.Metadata.Name}-{(job.Spec.Completions ?? 1) - 1}";
        if (!NameSyntax.IsDnsLabel(lastHost))
        {
            yield return new("metadata.name", job.Metadata.Name, $"pod hostname '{lastHost}' must be a DNS label of at most 63 characters ({NameSyntax.DnsLabelRule})");
        }
    }
}
