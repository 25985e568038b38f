using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Kubernetes;

namespace VisionPlatform.Training.QuickStart;

/// <summary>
/// <c>--print-cluster-setup</c>: the namespace, RBAC and the other objects <see cref="KubernetesClusterSetup"/> would create,
/// as YAML alone on stdout for <c>kubectl apply -f -</c>. Needs no cluster; never prints a Secret value.
/// </summary>
internal static class ClusterSetupPrint
{
    public static int Print(IServiceProvider services, TextWriter output, TextWriter error)
    {
        try
        {
            output.Write(services.GetRequiredService<KubernetesClusterSetup>().RenderYaml());
            return ExitCodes.Succeeded;
        }
        catch (OptionsValidationException e)
        {
            Display.ErrorLine.Write(error, string.Join("; ", e.Failures));
            return ExitCodes.BadInput;
        }
    }
}
