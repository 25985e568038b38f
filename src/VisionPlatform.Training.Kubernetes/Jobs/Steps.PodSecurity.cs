using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>The restricted Pod Security profile: non-root ids, no escalation, no capabilities, RuntimeDefault seccomp.</summary>
internal sealed class PodSecurityStep : IJobBuildStep
{
    /// <summary>Nothing: this part depends on options only.</summary>
    public void ApplyJobParts(JobBuildContext context, JobTemplate template)
    {
    }

    public void Apply(JobBuildContext context)
    {
        var security = context.Options.Security;
        if (!security.Restricted)
        {
            context.Container.SecurityContext = security.ReadOnlyRootFilesystem
                ? new V1SecurityContext { ReadOnlyRootFilesystem = true }
                : null;
            return;
        }

        context.Pod.SecurityContext = new V1PodSecurityContext
        {
            RunAsNonRoot = true,
            RunAsUser = security.RunAsUser,
            RunAsGroup = security.RunAsGroup,
            FsGroup = security.FsGroup,
            SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
        };
        context.Container.SecurityContext = new V1SecurityContext
        {
            AllowPrivilegeEscalation = false,
            Capabilities = new V1Capabilities { Drop = ["ALL"] },
            ReadOnlyRootFilesystem = security.ReadOnlyRootFilesystem,
            RunAsNonRoot = true,
        };
    }
}
