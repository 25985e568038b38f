namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Which image each framework runs (<c>Training:Kubernetes:Image</c>): <c>&lt;Registry&gt;/&lt;Repository&gt;:&lt;Tag&gt;</c>,
/// where <see cref="Repository"/> may contain <c>{framework}</c>; the default gives <c>&lt;registry&gt;/trainer-ultralytics:latest</c>.
/// A framework's <see cref="KubernetesFrameworkOptions.Image"/> and a job's <see cref="KubernetesJobOptions.Image"/> override it.
/// </summary>
public sealed class KubernetesImageOptions
{
    /// <summary>The placeholder replaced by the framework name in <see cref="Repository"/>.</summary>
    public const string FrameworkPlaceholder = "{framework}";

    /// <summary>The registry host and optional path (for example <c>registry.example.com/vision</c>); unset for images without a registry.</summary>
    public string? Registry { get; set; }

    /// <summary>The repository pattern (default <c>trainer-{framework}</c>).</summary>
    public string Repository { get; set; } = "trainer-" + FrameworkPlaceholder;

    /// <summary>The image tag, the trainer version (default <c>latest</c>; pin a version in production).</summary>
    public string Tag { get; set; } = "latest";

    /// <summary><c>IfNotPresent</c> (default), <c>Always</c> or <c>Never</c>.</summary>
    public string PullPolicy { get; set; } = "IfNotPresent";

    /// <summary>Names of docker-registry Secrets in the namespace, for private registries.</summary>
    public IList<string> PullSecrets { get; } = [];

    /// <summary>Returns the image for a framework from the pattern.</summary>
    /// <param name="framework">The framework name.</param>
    /// <returns>The image reference.</returns>
    public string ForFramework(string framework)
    {
        ArgumentNullException.ThrowIfNull(framework);
        var repository = Repository.Replace(FrameworkPlaceholder, framework, StringComparison.Ordinal);
        var registry = Registry?.TrimEnd('/');
        return string.IsNullOrEmpty(registry) ? $"{repository}:{Tag}" : $"{registry}/{repository}:{Tag}";
    }
}
