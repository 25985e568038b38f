using System.Security.Cryptography;
using System.Text;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The config hash a Kubernetes run records (<see cref="KubernetesLabels.ConfigHashAnnotation"/>): the job config's
/// <see cref="TrainingJobConfig.ConfigHash"/>, and the per-job image when one is set (<see cref="KubernetesJobOptions.Image"/>
/// is part of what runs but not of the core config), so a repeated start with another image is a conflict, not the old run.
/// Without a per-job image it is the core hash itself, so Jobs created before stay matched.
/// </summary>
internal static class KubernetesJobHash
{
    public static string Of(TrainingJobConfig config, KubernetesJobOptions? jobOptions)
    {
        if (jobOptions?.Image is not { } image)
        {
            return config.ConfigHash;
        }

        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes($"{config.ConfigHash}\nimage={image}"));
        return Convert.ToHexStringLower(bytes);
    }
}

/// <summary>
/// The exact project match of list queries. The <see cref="KubernetesLabels.ProjectId"/> label only pre-selects: a project
/// id that is not a valid label value is stored as a readable part plus a hash, so another project can have the same
/// label value (project <c>acme-&lt;8 hex&gt;</c> and project <c>acme!</c>). A run matches a project when its
/// <see cref="KubernetesLabels.ProjectIdAnnotation"/> equals it; a Job without the annotation (created by an older SDK)
/// matches only when the project id is a label value itself, so its label is exact.
/// </summary>
internal static class KubernetesProject
{
    public static bool Matches(string? annotation, string? label, string project) =>
        annotation is not null
            ? string.Equals(annotation, project, StringComparison.Ordinal)
            : label is not null && NameSyntax.IsLabelValue(project) && string.Equals(label, project, StringComparison.Ordinal);

    public static bool Matches(k8s.Models.V1ObjectMeta? metadata, string project) =>
        Matches(
            metadata?.Annotations?.TryGetValue(KubernetesLabels.ProjectIdAnnotation, out var annotation) == true ? annotation : null,
            metadata?.Labels?.TryGetValue(KubernetesLabels.ProjectId, out var label) == true ? label : null,
            project);
}
