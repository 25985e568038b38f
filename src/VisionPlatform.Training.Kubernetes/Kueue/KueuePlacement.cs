namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Where a run is queued and at which priorities: the per-run <see cref="KubernetesJobOptions"/> values over the host's
/// (<see cref="KubernetesKueueOptions"/>, <see cref="KubernetesExecutorOptions.PriorityClassName"/>). A per-run
/// <see langword="null"/> takes the host's value, an empty string means none. Placement is not part of the config hash.
/// </summary>
internal readonly record struct KueuePlacement(string? QueueName, string? WorkloadPriorityClass, string? PodPriorityClassName)
{
    /// <summary>The rule a queue or WorkloadPriorityClass name follows (it is a label value and an object name).</summary>
    public const string NameRule = "must be a lowercase RFC 1123 subdomain of at most 63 characters (it is both a Kueue object name and a label value), for example 'team-a'";

    public bool IsQueued => QueueName is not null;

    public static KueuePlacement For(KubernetesExecutorOptions options, KubernetesJobOptions jobOptions)
    {
        var queue = NullIfEmpty(jobOptions.QueueName ?? options.Kueue.QueueName);
        var priority = queue is null ? null : NullIfEmpty(jobOptions.WorkloadPriorityClass ?? options.Kueue.WorkloadPriorityClass);
        var pod = NullIfEmpty(jobOptions.PriorityClassName ?? options.PriorityClassName);
        return new(queue, priority, pod);
    }

    /// <summary>Whether <paramref name="value"/> is a valid queue or WorkloadPriorityClass name.</summary>
    public static bool IsValidName(string? value) => NameSyntax.IsDnsSubdomain(value) && value.Length <= 63;

    /// <summary>The per-run values' problems, named by their <see cref="KubernetesJobOptions"/> property.</summary>
    public static IEnumerable<TrainingValidationError> Validate(KubernetesExecutorOptions options, KubernetesJobOptions jobOptions)
    {
        if (jobOptions.QueueName is { Length: > 0 } queue && !IsValidName(queue))
        {
            yield return new($"{nameof(KubernetesJobOptions)}.{nameof(KubernetesJobOptions.QueueName)}", queue, NameRule);
        }

        if (jobOptions.WorkloadPriorityClass is { Length: > 0 } priority)
        {
            if (!IsValidName(priority))
            {
                yield return new($"{nameof(KubernetesJobOptions)}.{nameof(KubernetesJobOptions.WorkloadPriorityClass)}", priority, NameRule);
            }
            else if (NullIfEmpty(jobOptions.QueueName ?? options.Kueue.QueueName) is null)
            {
                yield return new($"{nameof(KubernetesJobOptions)}.{nameof(KubernetesJobOptions.WorkloadPriorityClass)}", priority,
                    "applies only to a queued job: set KubernetesJobOptions.QueueName or Training:Kubernetes:Kueue:QueueName too");
            }
        }

        if (jobOptions.PriorityClassName is { Length: > 0 } pod && !NameSyntax.IsDnsSubdomain(pod))
        {
            yield return new($"{nameof(KubernetesJobOptions)}.{nameof(KubernetesJobOptions.PriorityClassName)}", pod, NameSyntax.DnsSubdomainRule);
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
