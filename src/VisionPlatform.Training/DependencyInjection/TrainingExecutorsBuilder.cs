using Microsoft.Extensions.DependencyInjection;

namespace VisionPlatform.Training;

internal sealed class TrainingExecutorsBuilder(IServiceCollection services) : ITrainingExecutorsBuilder
{
    public IServiceCollection Services { get; } = services;
}
