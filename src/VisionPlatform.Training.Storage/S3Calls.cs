using Amazon.S3;
using Polly;

namespace VisionPlatform.Training.Storage;

/// <summary>Runs one S3 request through the resilience pipeline, tagged with what it is for the retry log.</summary>
internal sealed class S3Calls(IAmazonS3 client, string bucket, ResiliencePipeline pipeline)
{
    public IAmazonS3 Client { get; } = client;

    public string Bucket { get; } = bucket;

    public async Task<T> RunAsync<T>(string operation, string key, Func<IAmazonS3, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(StorageResilience.OperationKey, new StorageOperation(operation, key));
        try
        {
            return await pipeline.ExecuteAsync(
                static async (ctx, state) => await state.call(state.client, ctx.CancellationToken).ConfigureAwait(false),
                context,
                (call, client: Client)).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
}
