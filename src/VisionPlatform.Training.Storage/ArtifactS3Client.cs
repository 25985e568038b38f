using Amazon.Runtime;
using Amazon.Runtime.Internal;
using Amazon.S3;

namespace VisionPlatform.Training.Storage;

/// <summary>The store's S3 client configuration: the SDK's settings plus whether bodies may use aws-chunked encoding.</summary>
internal sealed class ArtifactS3Config : AmazonS3Config
{
    public bool DisableChunkEncoding { get; init; }
}

/// <summary>
/// An S3 client that can turn off aws-chunked bodies for every request, multipart parts included. The SDK only offers a
/// per-request switch; servers that do not decode aws-chunked (several self-hosted ones) would otherwise store the chunk
/// framing as part of the object without any error.
/// </summary>
internal sealed class ArtifactS3Client : AmazonS3Client
{
    public ArtifactS3Client(AWSCredentials credentials, ArtifactS3Config config)
        : base(credentials, config)
    {
    }

    public ArtifactS3Client(ArtifactS3Config config)
        : base(config)
    {
    }

    protected override void CustomizeRuntimePipeline(RuntimePipeline pipeline)
    {
        base.CustomizeRuntimePipeline(pipeline);

        // Before the signer: the signature covers the content encoding, so the choice must be made before signing.
        pipeline.AddHandlerBefore<Signer>(new ChunkEncodingHandler());
    }

    private sealed class ChunkEncodingHandler : PipelineHandler
    {
        public override void InvokeSync(IExecutionContext executionContext)
        {
            Apply(executionContext);
            base.InvokeSync(executionContext);
        }

        public override Task<T> InvokeAsync<T>(IExecutionContext executionContext)
        {
            Apply(executionContext);
            return base.InvokeAsync<T>(executionContext);
        }

        private static void Apply(IExecutionContext executionContext)
        {
            if (executionContext.RequestContext.ClientConfig is ArtifactS3Config { DisableChunkEncoding: true })
            {
                executionContext.RequestContext.Request.UseChunkEncoding = false;
            }
        }
    }
}
