using System.Globalization;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Storage;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Validates <see cref="KubernetesExecutorOptions"/> at start-up. Every message names the configuration key
/// (for example <c>Training:Kubernetes:Namespace</c>), the value's problem and the rule.
/// </summary>
internal sealed class KubernetesExecutorOptionsValidator(string sectionPath) : IValidateOptions<KubernetesExecutorOptions>
{
    private static readonly HashSet<string> PlatformVariables =
        new(TrainingJobConfigBuilder.ReservedEnvironmentNames, StringComparer.Ordinal);

    public ValidateOptionsResult Validate(string? name, KubernetesExecutorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var p = sectionPath;

        if (!NameSyntax.IsDnsLabel(options.Namespace))
        {
            errors.Add($"{p}:Namespace is '{options.Namespace}': it {NameSyntax.DnsLabelRule}.");
        }

        ValidateConnection(errors, $"{p}:Connection", options.Connection);
        ValidateImage(errors, $"{p}:Image", options.Image);

        if (options.Command is { } command && command.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add($"{p}:Command has an empty element: every element is one argument of the container's command (default 'python', 'train.py').");
        }

        if (string.IsNullOrWhiteSpace(options.OutputDirectory) || !options.OutputDirectory.StartsWith('/'))
        {
            errors.Add($"{p}:OutputDirectory is '{options.OutputDirectory}': it must be an absolute path in the container (default /workspace/output).");
        }

        Subdomain(errors, $"{p}:ServiceAccountName", options.ServiceAccountName);
        Subdomain(errors, $"{p}:PriorityClassName", options.PriorityClassName);
        ValidateGpu(errors, $"{p}:Gpu", options.Gpu);
        ValidateResources(errors, $"{p}:Resources", options.Resources.CpuRequest, options.Resources.CpuLimit, options.Resources.MemoryRequest, options.Resources.MemoryLimit);
        ValidateStorage(errors, $"{p}:Storage", options.Storage);
        ValidateReferences(errors, $"{p}:SecretEnvironment", options.SecretEnvironment, "Secret");
        ValidateReferences(errors, $"{p}:ConfigMapEnvironment", options.ConfigMapEnvironment, "ConfigMap");
        foreach (var duplicate in options.SecretEnvironment.Keys.Intersect(options.ConfigMapEnvironment.Keys, StringComparer.Ordinal))
        {
            errors.Add($"{p}:SecretEnvironment:{duplicate} and {p}:ConfigMapEnvironment:{duplicate} both set {duplicate}: a variable has one source.");
        }

        var referenced = options.SecretEnvironment.Keys.Concat(options.ConfigMapEnvironment.Keys).ToHashSet(StringComparer.Ordinal);
        ValidateEnvironment(errors, $"{p}:Environment", options.Environment, referenced);
        ValidateJobPolicy(errors, $"{p}:Job", options.Job);
        ValidateSecurity(errors, $"{p}:Security", options.Security);

        foreach (var (framework, f) in options.Frameworks)
        {
            var fp = $"{p}:Frameworks:{framework}";
            if (!new TrainingFramework(framework).IsValid)
            {
                errors.Add($"{fp} names the framework '{framework}': framework names are lower-case identifiers ([a-z0-9][a-z0-9_-]*, at most 63 characters).");
            }

            if (f is null)
            {
                continue;
            }

            if (f.Image is not null)
            {
                ValidateImageReference(errors, $"{fp}:Image", f.Image);
            }

            ValidateResources(errors, fp, f.CpuRequest, f.CpuLimit, f.MemoryRequest, f.MemoryLimit);
            Quantity(errors, $"{fp}:SharedMemorySize", f.SharedMemorySize);
            Quantity(errors, $"{fp}:CacheSizeLimit", f.CacheSizeLimit);
            ValidateEnvironment(errors, $"{fp}:Environment", f.Environment, referenced);
            ValidateVolumes(errors, $"{fp}:Volumes", f.Volumes, options.Storage.Volumes);
        }

        Positive(errors, $"{p}:ImagePullBackOffTimeout", options.ImagePullBackOffTimeout, TimeSpan.FromDays(7));
        Positive(errors, $"{p}:PodCreateFailureTimeout", options.PodCreateFailureTimeout, TimeSpan.FromDays(7));
        Positive(errors, $"{p}:PollInterval", options.PollInterval, TimeSpan.FromMinutes(10));
        if (options.FailureLogLines is < 0 or > 1000)
        {
            errors.Add($"{p}:FailureLogLines is {options.FailureLogLines}: it must be between 0 and 1000.");
        }

        errors.AddRange(options.Monitor.Validate($"{p}:Monitor"));
        ValidateKueue(errors, $"{p}:Kueue", options.Kueue);
        errors.AddRange(options.Logs.Validate($"{p}:Logs"));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateConnection(List<string> errors, string p, KubernetesConnectionOptions c)
    {
        if (!string.IsNullOrEmpty(c.Host) &&
            (!Uri.TryCreate(c.Host, UriKind.Absolute, out var host) || (host.Scheme != Uri.UriSchemeHttps && host.Scheme != Uri.UriSchemeHttp)))
        {
            errors.Add($"{p}:Host is '{c.Host}': it must be an absolute http or https URL of the API server (for example https://10.0.0.1:6443).");
        }

        if (c.KubeConfigPath is { } path && string.IsNullOrWhiteSpace(path))
        {
            errors.Add($"{p}:KubeConfigPath is blank: set the path of a kubeconfig file or leave it unset.");
        }

        Positive(errors, $"{p}:RequestTimeout", c.RequestTimeout, TimeSpan.FromMinutes(30));
        Positive(errors, $"{p}:AvailabilityTimeout", c.AvailabilityTimeout, TimeSpan.FromMinutes(5));
        errors.AddRange(c.Resilience.Validate($"{p}:Resilience"));
    }

    private static void ValidateImage(List<string> errors, string p, KubernetesImageOptions image)
    {
        if (image.Registry is { Length: > 0 } registry &&
            (registry.Contains("://", StringComparison.Ordinal) || registry.Any(c => char.IsWhiteSpace(c) || char.IsUpper(c))))
        {
            errors.Add($"{p}:Registry is '{registry}': it must be a registry host and optional path without a scheme, in lower case (for example registry.example.com/vision).");
        }

        if (string.IsNullOrWhiteSpace(image.Repository) || image.Repository.Any(c => char.IsWhiteSpace(c) || c == ':') ||
            image.Repository.Replace(KubernetesImageOptions.FrameworkPlaceholder, "x", StringComparison.Ordinal).Any(char.IsUpper))
        {
            errors.Add($"{p}:Repository is '{image.Repository}': it must be a lower-case repository name without a tag, optionally with {KubernetesImageOptions.FrameworkPlaceholder} (default trainer-{KubernetesImageOptions.FrameworkPlaceholder}).");
        }

        if (string.IsNullOrEmpty(image.Tag) || image.Tag.Length > 128 || !(char.IsAsciiLetterOrDigit(image.Tag[0]) || image.Tag[0] == '_') ||
            !image.Tag.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
        {
            errors.Add($"{p}:Tag is '{image.Tag}': it must be an image tag of at most 128 letters, digits, '_', '.' or '-', not starting with '.' or '-' (the trainer version, for example 1.4.0).");
        }

        if (image.PullPolicy is not ("IfNotPresent" or "Always" or "Never"))
        {
            errors.Add($"{p}:PullPolicy is '{image.PullPolicy}': it must be IfNotPresent, Always or Never.");
        }

        for (var i = 0; i < image.PullSecrets.Count; i++)
        {
            Subdomain(errors, $"{p}:PullSecrets:{i}", image.PullSecrets[i], required: true);
        }
    }

    private static void ValidateImageReference(List<string> errors, string key, string image)
    {
        if (string.IsNullOrWhiteSpace(image) || image.Any(char.IsWhiteSpace))
        {
            errors.Add($"{key} is '{image}': it must be a full image reference without white space (for example registry.example.com/trainer-custom:1.0).");
        }
    }

    private static void ValidateGpu(List<string> errors, string p, KubernetesGpuOptions gpu)
    {
        if (!NameSyntax.IsQualifiedName(gpu.ResourceName) || !gpu.ResourceName.Contains('/', StringComparison.Ordinal) ||
            gpu.ResourceName.Split('/')[0].EndsWith("kubernetes.io", StringComparison.Ordinal))
        {
            errors.Add($"{p}:ResourceName is '{gpu.ResourceName}': it must be a domain-prefixed extended resource name such as nvidia.com/gpu or amd.com/gpu.");
        }

        var tolerations = gpu.EffectiveTolerations;
        for (var i = 0; i < tolerations.Count; i++)
        {
            var t = tolerations[i];
            var tp = $"{p}:Tolerations:{i}";
            if (!string.IsNullOrEmpty(t.Key) && !NameSyntax.IsQualifiedName(t.Key))
            {
                errors.Add($"{tp}:Key is '{t.Key}': it {NameSyntax.QualifiedNameRule}.");
            }

            if (t.Operator is not (null or "" or "Equal" or "Exists"))
            {
                errors.Add($"{tp}:Operator is '{t.Operator}': it must be Equal or Exists.");
            }
            else if (string.IsNullOrEmpty(t.Key) && t.Operator != "Exists")
            {
                errors.Add($"{tp}:Operator must be Exists when Key is empty (a toleration of every taint).");
            }
            else if (t.Operator == "Exists" && !string.IsNullOrEmpty(t.Value))
            {
                errors.Add($"{tp}:Value must be empty when Operator is Exists.");
            }
            else if (!NameSyntax.IsLabelValue(t.Value ?? string.Empty))
            {
                errors.Add($"{tp}:Value is '{t.Value}': it {NameSyntax.LabelValueRule}.");
            }

            if (t.Effect is not (null or "" or "NoSchedule" or "PreferNoSchedule" or "NoExecute"))
            {
                errors.Add($"{tp}:Effect is '{t.Effect}': it must be NoSchedule, PreferNoSchedule, NoExecute or empty.");
            }

            if (t.TolerationSeconds is not null && t.Effect != "NoExecute")
            {
                errors.Add($"{tp}:TolerationSeconds requires Effect NoExecute.");
            }
        }

        foreach (var (key, value) in gpu.NodeSelector)
        {
            if (!NameSyntax.IsQualifiedName(key))
            {
                errors.Add($"{p}:NodeSelector:{key} is not a valid label key: it {NameSyntax.QualifiedNameRule}.");
            }

            if (!NameSyntax.IsLabelValue(value ?? string.Empty))
            {
                errors.Add($"{p}:NodeSelector:{key} is '{value}': it {NameSyntax.LabelValueRule}.");
            }
        }
    }

    private static void ValidateResources(List<string> errors, string p, string? cpuRequest, string? cpuLimit, string? memoryRequest, string? memoryLimit)
    {
        Pair(errors, $"{p}:CpuRequest", cpuRequest, $"{p}:CpuLimit", cpuLimit);
        Pair(errors, $"{p}:MemoryRequest", memoryRequest, $"{p}:MemoryLimit", memoryLimit);
    }

    private static void Pair(List<string> errors, string requestKey, string? request, string limitKey, string? limit)
    {
        var requestOk = Quantity(errors, requestKey, request, out var r);
        var limitOk = Quantity(errors, limitKey, limit, out var l);
        if (requestOk && limitOk && !string.IsNullOrEmpty(request) && !string.IsNullOrEmpty(limit) && r > l)
        {
            errors.Add($"{requestKey} is {request}: it must be less than or equal to {limitKey} ({limit}).");
        }
    }

    private static bool Quantity(List<string> errors, string key, string? value) => Quantity(errors, key, value, out _);

    private static bool Quantity(List<string> errors, string key, string? value, out decimal parsed)
    {
        parsed = 0;
        if (string.IsNullOrEmpty(value))
        {
            return true;
        }

        if (!ResourceQuantity.TryParse(value, out parsed))
        {
            errors.Add($"{key} is '{value}': it must be a Kubernetes quantity such as 500m, 2 or 8Gi (decimal suffixes k, M, G, T; binary Ki, Mi, Gi, Ti).");
            return false;
        }

        return true;
    }

    private static void ValidateStorage(List<string> errors, string p, KubernetesStorageOptions storage)
    {
        if (string.IsNullOrEmpty(storage.SharedMemorySize))
        {
            errors.Add($"{p}:SharedMemorySize is required (default 2Gi): PyTorch data loaders need a large /dev/shm.");
        }

        Quantity(errors, $"{p}:SharedMemorySize", storage.SharedMemorySize);
        Quantity(errors, $"{p}:WorkspaceSizeLimit", storage.WorkspaceSizeLimit);
        Quantity(errors, $"{p}:CacheSizeLimit", storage.CacheSizeLimit);
        ValidateVolumes(errors, $"{p}:Volumes", storage.Volumes, []);
    }

    private static void ValidateVolumes(List<string> errors, string p, IList<KubernetesVolumeOptions> volumes, IList<KubernetesVolumeOptions> others)
    {
        var names = others.Select(v => v.Name).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var paths = others.Select(v => v.MountPath).OfType<string>().ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < volumes.Count; i++)
        {
            var v = volumes[i];
            var vp = $"{p}:{i}";
            if (!NameSyntax.IsDnsLabel(v.Name))
            {
                errors.Add($"{vp}:Name is '{v.Name}': it {NameSyntax.DnsLabelRule}.");
            }
            else if (VolumesStep.ReservedNames.Contains(v.Name))
            {
                errors.Add($"{vp}:Name is '{v.Name}': the executor uses that name itself ({string.Join(", ", VolumesStep.ReservedNames)}).");
            }
            else if (!names.Add(v.Name))
            {
                errors.Add($"{vp}:Name is '{v.Name}': another volume already has that name.");
            }

            if (string.IsNullOrEmpty(v.MountPath) || !v.MountPath.StartsWith('/'))
            {
                errors.Add($"{vp}:MountPath is '{v.MountPath}': it must be an absolute path in the container.");
            }
            else if (VolumesStep.ReservedPaths.Contains(v.MountPath.TrimEnd('/')))
            {
                errors.Add($"{vp}:MountPath is '{v.MountPath}': the executor mounts its own volume there ({string.Join(", ", VolumesStep.ReservedPaths)}).");
            }
            else if (!paths.Add(v.MountPath))
            {
                errors.Add($"{vp}:MountPath is '{v.MountPath}': another volume is already mounted there.");
            }

            var sources = new[]
            {
                v.EmptyDir || !string.IsNullOrEmpty(v.EmptyDirMedium) || !string.IsNullOrEmpty(v.SizeLimit),
                !string.IsNullOrEmpty(v.PersistentVolumeClaim),
                !string.IsNullOrEmpty(v.ConfigMap),
                !string.IsNullOrEmpty(v.Secret),
            }.Count(set => set);
            if (sources != 1)
            {
                errors.Add($"{vp} sets {sources} volume sources: set exactly one of EmptyDir (or EmptyDirMedium/SizeLimit), PersistentVolumeClaim, ConfigMap or Secret.");
            }

            if (v.EmptyDirMedium is { Length: > 0 } medium && medium != "Memory")
            {
                errors.Add($"{vp}:EmptyDirMedium is '{medium}': it must be Memory or empty (disk).");
            }

            Quantity(errors, $"{vp}:SizeLimit", v.SizeLimit);
            Subdomain(errors, $"{vp}:PersistentVolumeClaim", v.PersistentVolumeClaim);
            Subdomain(errors, $"{vp}:ConfigMap", v.ConfigMap);
            Subdomain(errors, $"{vp}:Secret", v.Secret);
            if (!string.IsNullOrEmpty(v.SubPath) && (v.SubPath.StartsWith('/') || v.SubPath.Split('/').Contains("..")))
            {
                errors.Add($"{vp}:SubPath is '{v.SubPath}': it must be a relative path without '..'.");
            }
        }
    }

    private static void ValidateReferences(List<string> errors, string p, IDictionary<string, KubernetesKeyReference> references, string kind)
    {
        foreach (var (variable, reference) in references)
        {
            if (!NameSyntax.IsEnvironmentVariableName(variable))
            {
                errors.Add($"{p}:{variable} is not a valid environment variable name: it {NameSyntax.EnvironmentVariableNameRule}.");
            }
            else if (ArtifactEnvironment.Names.Contains(variable))
            {
                errors.Add(ArtifactVariableReserved(p, variable));
            }

            if (reference is null || string.IsNullOrEmpty(reference.Name))
            {
                continue;
            }

            Subdomain(errors, $"{p}:{variable}:Name", reference.Name, required: true, what: $"the {kind} name");
            if (!NameSyntax.IsConfigMapKey(reference.Key))
            {
                errors.Add($"{p}:{variable}:Key is '{reference.Key}': it {NameSyntax.ConfigMapKeyRule} (the key within {kind} '{reference.Name}').");
            }
        }
    }

    private static string ArtifactVariableReserved(string p, string variable) =>
        $"{p}:{variable} is reserved: the executor sets it from the artifact store (AddArtifactStorage: the bucket, the run's prefix and its checkpoint location, never a secret) for every Job; it cannot be configured.";

    private static void ValidateEnvironment(List<string> errors, string p, IDictionary<string, string> environment, HashSet<string> referenced)
    {
        foreach (var (variable, value) in environment)
        {
            if (!NameSyntax.IsEnvironmentVariableName(variable))
            {
                errors.Add($"{p}:{variable} is not a valid environment variable name: it {NameSyntax.EnvironmentVariableNameRule}.");
            }
            else if (ArtifactEnvironment.Names.Contains(variable))
            {
                errors.Add(ArtifactVariableReserved(p, variable));
            }
            else if (referenced.Contains(variable) || PlatformVariables.Contains(variable))
            {
                errors.Add($"{p}:{variable} is set by the executor (from a Secret or ConfigMap reference, or the GPU allocation): configure it under SecretEnvironment or ConfigMapEnvironment instead of as a plain value.");
            }

            if (value is null)
            {
                errors.Add($"{p}:{variable} has no value (use an empty string for an empty value).");
            }
        }
    }

    private static void ValidateJobPolicy(List<string> errors, string p, KubernetesJobPolicyOptions job)
    {
        if (job.BackoffLimit is < 0 or > 1000)
        {
            errors.Add($"{p}:BackoffLimit is {job.BackoffLimit}: it must be between 0 and 1000.");
        }

        if (job.RendezvousPort is < 1 or > 65_535)
        {
            errors.Add($"{p}:RendezvousPort is {job.RendezvousPort}: it must be a TCP port, 1 to 65535 (default 29500).");
        }

        var controlPort = job.EffectiveGroupControlPort;
        var controlSource = job.GroupControlPort is null ? " (unset: RendezvousPort + 1)" : string.Empty;
        if (controlPort is < 1024 or > 65_535)
        {
            errors.Add($"{p}:GroupControlPort is {controlPort.ToString(CultureInfo.InvariantCulture)}{controlSource}: it must be a TCP port, 1024 to 65535 (default RendezvousPort + 1, 29501).");
        }
        else if (controlPort == job.RendezvousPort)
        {
            errors.Add($"{p}:GroupControlPort is {controlPort.ToString(CultureInfo.InvariantCulture)}: it must differ from RendezvousPort (rank 0's torchrun listens there; default RendezvousPort + 1).");
        }

        if (job.ActiveDeadlineSeconds < 1)
        {
            errors.Add($"{p}:ActiveDeadlineSeconds is {job.ActiveDeadlineSeconds}: it must be at least 1 (default 86400, one day).");
        }

        if (job.TtlSecondsAfterFinished < 0)
        {
            errors.Add($"{p}:TtlSecondsAfterFinished is {job.TtlSecondsAfterFinished}: it must be 0 or more, or unset to keep finished Jobs.");
        }

        var codes = job.FailJobExitCodes ?? [];
        if (codes.Count > 255)
        {
            errors.Add($"{p}:FailJobExitCodes lists {codes.Count} codes: at most 255 are allowed.");
        }

        foreach (var code in codes.Where(c => c is < 1 or > 255))
        {
            errors.Add($"{p}:FailJobExitCodes contains {code.ToString(CultureInfo.InvariantCulture)}: exit codes are 1 to 255 (0 is success).");
        }

        if (codes.Contains(DistributionStep.GroupRestartExitCode))
        {
            errors.Add($"{p}:FailJobExitCodes contains {DistributionStep.GroupRestartExitCode.ToString(CultureInfo.InvariantCulture)}: that exit code is reserved for the whole-group restart of a distributed job (a pod whose group restarts after a disruption exits {DistributionStep.GroupRestartExitCode.ToString(CultureInfo.InvariantCulture)}, and the Job must ignore it, not fail).");
        }

        if (job.TerminationGracePeriod < TimeSpan.Zero || job.TerminationGracePeriod > TimeSpan.FromHours(1))
        {
            errors.Add($"{p}:TerminationGracePeriod is {job.TerminationGracePeriod}: it must be between 00:00:00 and 01:00:00.");
        }
    }

    private static void ValidateSecurity(List<string> errors, string p, KubernetesSecurityOptions security)
    {
        if (!security.Restricted)
        {
            return;
        }

        if (security.RunAsUser < 1)
        {
            errors.Add($"{p}:RunAsUser is {security.RunAsUser}: the restricted profile runs as non-root, so it must be 1 or more (default 1000).");
        }

        if (security.RunAsGroup < 0)
        {
            errors.Add($"{p}:RunAsGroup is {security.RunAsGroup}: it must be 0 or more.");
        }

        if (security.FsGroup < 0)
        {
            errors.Add($"{p}:FsGroup is {security.FsGroup}: it must be 0 or more.");
        }
    }

    private static void ValidateKueue(List<string> errors, string p, KubernetesKueueOptions kueue)
    {
        if (kueue.QueueName is { Length: > 0 } queue && !KueuePlacement.IsValidName(queue))
        {
            errors.Add($"{p}:QueueName is '{queue}': the LocalQueue name {KueuePlacement.NameRule}.");
        }

        if (kueue.WorkloadPriorityClass is { Length: > 0 } priority && !KueuePlacement.IsValidName(priority))
        {
            errors.Add($"{p}:WorkloadPriorityClass is '{priority}': the WorkloadPriorityClass name {KueuePlacement.NameRule}.");
        }

        if (kueue.MaxPreemptions is < 0 or > 10_000)
        {
            errors.Add($"{p}:MaxPreemptions is {kueue.MaxPreemptions}: it must be between 0 (the first preemption fails the run) and 10000 (default {KubernetesKueueOptions.DefaultMaxPreemptions}).");
        }

        if (kueue.PositionRefreshInterval < TimeSpan.FromSeconds(1) || kueue.PositionRefreshInterval > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{p}:PositionRefreshInterval is {kueue.PositionRefreshInterval}: it must be between 00:00:01 and 00:10:00 (default 00:00:10; each read is one visibility API call per queue).");
        }
    }

    private static void Subdomain(List<string> errors, string key, string? value, bool required = false, string what = "the name")
    {
        if (string.IsNullOrEmpty(value))
        {
            if (required)
            {
                errors.Add($"{key} is required ({what}).");
            }

            return;
        }

        if (!NameSyntax.IsDnsSubdomain(value))
        {
            errors.Add($"{key} is '{value}': it {NameSyntax.DnsSubdomainRule}.");
        }
    }

    private static void Positive(List<string> errors, string key, TimeSpan value, TimeSpan max)
    {
        if (value <= TimeSpan.Zero || value > max)
        {
            errors.Add($"{key} is {value}: it must be greater than 00:00:00 and at most {max}.");
        }
    }
}
