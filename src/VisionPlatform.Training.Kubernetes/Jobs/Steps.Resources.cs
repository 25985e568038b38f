using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// CPU and memory from the job, else from the framework's defaults, else from the executor's defaults, decided per
/// resource; GPUs as a limit only (the apiserver defaults the request to it and rejects a differing one).
/// </summary>
internal sealed class ResourcesStep : IJobBuildStep
{
    public void Apply(JobBuildContext context)
    {
        var job = context.Resources;
        var framework = context.Framework;
        var defaults = context.Options.Resources;
        var requests = new SortedDictionary<string, k8s.Models.ResourceQuantity>(StringComparer.Ordinal);
        var limits = new SortedDictionary<string, k8s.Models.ResourceQuantity>(StringComparer.Ordinal);

        var (cpuRequest, cpuLimit) = Pick(
            (job.CpuRequest, job.CpuLimit),
            (framework?.CpuRequest, framework?.CpuLimit),
            (defaults.CpuRequest, defaults.CpuLimit));
        var (memoryRequest, memoryLimit) = Pick(
            (job.MemoryRequest, job.MemoryLimit),
            (framework?.MemoryRequest, framework?.MemoryLimit),
            (defaults.MemoryRequest, defaults.MemoryLimit));

        const string path = "spec.template.spec.containers[0].resources";
        Add(context, requests, $"{path}.requests", "cpu", cpuRequest);
        Add(context, requests, $"{path}.requests", "memory", memoryRequest);
        Add(context, limits, $"{path}.limits", "cpu", cpuLimit);
        Add(context, limits, $"{path}.limits", "memory", memoryLimit);
        if (context.UsesGpus)
        {
            limits[context.Options.Gpu.ResourceName] = GpuQuantity(job.Gpus);
        }

        context.Container.Resources = new V1ResourceRequirements
        {
            Requests = requests.Count > 0 ? requests : null,
            Limits = limits.Count > 0 ? limits : null,
        };
    }

    /// <summary>
    /// The template holds the framework's or executor's CPU and memory and, for GPU jobs, a limit of one GPU; a job
    /// that sets CPU or memory itself is decided afresh, and the GPU limit is set to the job's count.
    /// </summary>
    public void ApplyJobParts(JobBuildContext context, JobTemplate template)
    {
        var job = context.Resources;
        if (Sets(job.CpuRequest, job.CpuLimit) || Sets(job.MemoryRequest, job.MemoryLimit))
        {
            Apply(context);
            return;
        }

        if (context.UsesGpus && job.Gpus != 1)
        {
            context.Container.Resources.Limits[context.Options.Gpu.ResourceName] = GpuQuantity(job.Gpus);
        }
    }

    private static bool Sets(string? request, string? limit) => !string.IsNullOrEmpty(request) || !string.IsNullOrEmpty(limit);

    private static k8s.Models.ResourceQuantity GpuQuantity(int gpus) =>
        new(gpus.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The first source that sets the request or the limit of a resource decides both.</summary>
    private static (string? Request, string? Limit) Pick(params (string? Request, string? Limit)[] sources)
    {
        foreach (var source in sources)
        {
            if (Sets(source.Request, source.Limit))
            {
                return source;
            }
        }

        return (null, null);
    }

    private static void Add(JobBuildContext context, SortedDictionary<string, k8s.Models.ResourceQuantity> map, string path, string name, string? quantity)
    {
        if (context.Quantity($"{path}[{name}]", quantity) is { } value)
        {
            map[name] = value;
        }
    }
}
