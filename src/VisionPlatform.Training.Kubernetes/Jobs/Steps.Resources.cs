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
        var job = context.Config.Resources;
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
            limits[context.Options.Gpu.ResourceName] = new k8s.Models.ResourceQuantity(job.Gpus.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        context.Container.Resources = new V1ResourceRequirements
        {
            Requests = requests.Count > 0 ? requests : null,
            Limits = limits.Count > 0 ? limits : null,
        };
    }

    /// <summary>The first source that sets the request or the limit of a resource decides both.</summary>
    private static (string? Request, string? Limit) Pick(params (string? Request, string? Limit)[] sources)
    {
        foreach (var source in sources)
        {
            if (!string.IsNullOrEmpty(source.Request) || !string.IsNullOrEmpty(source.Limit))
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
