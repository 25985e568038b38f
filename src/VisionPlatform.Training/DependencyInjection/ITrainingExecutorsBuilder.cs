using Microsoft.Extensions.DependencyInjection;

namespace VisionPlatform.Training;

/// <summary>
/// Returned by <c>AddTrainingExecutors</c> so that other packages can chain their executors,
/// for example <c>.AddKubernetes(...)</c>.
/// </summary>
public interface ITrainingExecutorsBuilder
{
    /// <summary>The service collection being configured.</summary>
    IServiceCollection Services { get; }
}
