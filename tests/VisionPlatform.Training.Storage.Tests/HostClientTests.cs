using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace VisionPlatform.Training.Storage.Tests;

/// <summary>
/// A host that brings its own <see cref="IAmazonS3"/> (IRSA, pod identity, custom handlers): the store uses exactly that
/// client against the real s3rver, and neither the store nor the container disposes it.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class HostClientTests(S3rverFixture server)
{
    [Fact]
    public async Task AddArtifactStorage_with_a_client_factory_uses_the_host_client_and_never_disposes_it()
    {
        var http = new CountingHttpClientFactory();
        using var client = HostClient(server.ServiceUrl, http);
        var factoryCalls = 0;
        var prefix = "host-" + Guid.NewGuid().ToString("N")[..8];

        // No ServiceUrl and no credentials in the options: only the host's client can reach s3rver.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Training:Storage:Bucket"] = S3rverFixture.Bucket,
            ["Training:Storage:Prefix"] = prefix,
            ["Training:Storage:RetryBaseDelay"] = "00:00:00.050",
        }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(configuration.GetSection("Training"))
            .AddArtifactStorage(configuration.GetSection("Training:Storage"), sp =>
            {
                sp.Should().NotBeNull();
                Interlocked.Increment(ref factoryCalls);
                return client;
            });

        var provider = services.BuildServiceProvider();
        await using (provider.ConfigureAwait(false))
        {
            var store = provider.GetRequiredService<IArtifactStore>();
            provider.GetRequiredService<S3ArtifactStore>().Should().BeSameAs(store);
            factoryCalls.Should().Be(1, "the store is a singleton and asks for its client once");

            using var run = new TempDirectory();
            var weights = Hashes.RandomBytes(200_000, 7);
            run.Write("out/weights/best.pt", weights);
            var log = run.Write("train.log", Encoding.UTF8.GetBytes("epoch 1/1\n"));

            var result = await store.UploadRunAsync("host-job", Path.Combine(run.Path, "out"), log);

            // The bytes the server stored are exactly the local ones: plain bodies were sent through the host client
            // (its ServiceURL makes that the default), not aws-chunked framing.
            using (var get = await server.RawClient.GetObjectAsync(S3rverFixture.Bucket, result.RunPrefix + "weights/best.pt"))
            {
                Hashes.Of(get.ResponseStream).Should().Be(Hashes.Of(weights));
            }

            using var copy = new MemoryStream();
            await store.DownloadAsync("host-job", "weights/best.pt", copy);
            Hashes.Of(copy.ToArray()).Should().Be(Hashes.Of(weights));

            var link = await store.GetDownloadUrlAsync("host-job", "weights/best.pt", TimeSpan.FromMinutes(5));
            link.Scheme.Should().Be("http", "the host client's endpoint is http");
            using (var browser = new HttpClient())
            {
                Hashes.Of(await browser.GetByteArrayAsync(link)).Should().Be(Hashes.Of(weights));
            }

            (await store.DeleteRunAsync("host-job")).Should().Be(3);
            http.Requests.Should().BeGreaterThan(0, "every request went through the host's own HTTP handler");
        }

        // The container disposed the store; the host's client is still the host's and still works.
        var listing = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket, Prefix = prefix });
        (listing.S3Objects ?? []).Should().BeEmpty();
    }

    [Fact]
    public async Task A_store_over_a_host_client_leaves_it_undisposed_and_a_store_without_one_disposes_its_own()
    {
        using var client = HostClient(server.ServiceUrl, new CountingHttpClientFactory());
        var options = new ArtifactStorageOptions { Bucket = S3rverFixture.Bucket, Prefix = "host-" + Guid.NewGuid().ToString("N")[..8] };

        using (var store = new S3ArtifactStore(options, client))
        {
            using var run = new TempDirectory();
            run.Write("out/metrics.json", Encoding.UTF8.GetBytes("{}"));
            var result = await store.UploadRunAsync("direct", Path.Combine(run.Path, "out"));
            result.Artifacts.Select(a => a.RelativePath).Should().BeEquivalentTo("metrics.json", ArtifactLayout.RunManifestFile);
        }

        var listing = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket, Prefix = options.Prefix });
        listing.S3Objects.Should().HaveCount(2, "the client outlives the store that used it");
        options.UseChunkEncoding.Should().BeNull("the store decides on its own copy of the options");

        // The check above means something: a disposed client cannot be used.
        var disposed = HostClient(server.ServiceUrl, new CountingHttpClientFactory());
        disposed.Dispose();
        var useDisposed = () => disposed.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket });
        await useDisposed.Should().ThrowAsync<ObjectDisposedException>();

        FluentActions.Invoking(() => new S3ArtifactStore(options, (IAmazonS3)null!)).Should().Throw<ArgumentNullException>().WithParameterName("client");
    }

    [Fact]
    public void AddArtifactStorage_registers_the_connection_an_executor_package_hands_to_trainers()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors().AddArtifactStorage(o =>
        {
            o.ServiceUrl = "https://account.r2.cloudflarestorage.com";
            o.Bucket = "training";
            o.Region = "auto";
            o.AccessKeyId = "key-id";
            o.SecretAccessKey = "secret-value";
        });
        using var provider = services.BuildServiceProvider();

        var connection = provider.GetRequiredService<ArtifactStorageConnection>();

        connection.ServiceUrl.Should().Be("https://account.r2.cloudflarestorage.com");
        connection.Region.Should().Be("auto");
        connection.AccessKeyId.Should().Be("key-id");
        connection.SecretAccessKey.Should().Be("secret-value");
        connection.ToString().Should().NotContain("secret-value").And.NotContain("key-id").And.NotContain("account");
    }

    /// <summary>A client configured the way a host would for s3rver, with its own HTTP handler and no SDK retries.</summary>
    private static AmazonS3Client HostClient(string serviceUrl, HttpClientFactory http) => new(
        new BasicAWSCredentials(S3rverFixture.AccessKey, S3rverFixture.SecretKey),
        new AmazonS3Config
        {
            ServiceURL = serviceUrl,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 0,
            HttpClientFactory = http,
        });

    /// <summary>A custom HTTP pipeline, as hosts plug in for proxies or tracing: counts the requests it carries.</summary>
    private sealed class CountingHttpClientFactory : HttpClientFactory
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(new Counting(this, new SocketsHttpHandler()));

        private sealed class Counting(CountingHttpClientFactory owner, HttpMessageHandler inner) : DelegatingHandler(inner)
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref owner._requests);
                return base.SendAsync(request, cancellationToken);
            }
        }
    }
}
