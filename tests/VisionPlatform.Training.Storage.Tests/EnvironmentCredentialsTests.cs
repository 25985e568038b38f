using System.Text;
using Microsoft.Extensions.Logging.Abstractions;

namespace VisionPlatform.Training.Storage.Tests;

/// <summary>
/// With no <c>AccessKeyId</c> in the options, the store takes its credentials from the standard AWS environment
/// (<c>AWS_ACCESS_KEY_ID</c> / <c>AWS_SECRET_ACCESS_KEY</c>), as the AWS SDK's default chain does for every AWS tool.
/// In the s3rver collection, whose tests run one at a time, so the process-wide variables touch no other test.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class EnvironmentCredentialsTests(S3rverFixture server)
{
    [Fact]
    public async Task Credentials_from_the_AWS_environment_are_used_when_the_options_have_none()
    {
        var options = server.Options();
        options.AccessKeyId = null;
        options.SecretAccessKey = null;
        using var run = new TempDirectory();
        run.Write("out/metrics.json", Encoding.UTF8.GetBytes("{\"map50\":0.5}"));

        using (new EnvironmentScope(S3rverFixture.AccessKey, S3rverFixture.SecretKey))
        {
            using var store = new S3ArtifactStore(options, NullLogger<S3ArtifactStore>.Instance);
            await store.UploadRunAsync("env-creds", Path.Combine(run.Path, "out"));
            using var downloaded = new MemoryStream();
            await store.DownloadAsync("env-creds", "metrics.json", downloaded);
            Encoding.UTF8.GetString(downloaded.ToArray()).Should().Be("{\"map50\":0.5}");
        }

        using (new EnvironmentScope("UNKNOWNKEY", "not-the-secret"))
        {
            // The same call with an unknown key id in the environment is refused (s3rver checks key ids, not V4
            // signatures): the environment really is where the credentials came from, and the error does not echo them.
            using var store = new S3ArtifactStore(options, NullLogger<S3ArtifactStore>.Instance);
            var act = async () => await store.DownloadAsync("env-creds", "metrics.json", Stream.Null);
            var error = (await act.Should().ThrowAsync<TrainingException>()).Which;
            error.Code.Should().Be(TrainingErrorCode.Forbidden);
            error.Message.Should().Contain("AWS credential environment");
            error.ToString().Should().NotContain("not-the-secret");
        }
    }

    private sealed class EnvironmentScope : IDisposable
    {
        private readonly string? _key = Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID");
        private readonly string? _secret = Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY");

        public EnvironmentScope(string key, string secret)
        {
            Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", key);
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", secret);
        }

        public void Dispose()
        {
            Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", _key);
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", _secret);
        }
    }
}
