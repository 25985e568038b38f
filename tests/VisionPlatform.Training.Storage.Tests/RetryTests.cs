using Xunit.Abstractions;

namespace VisionPlatform.Training.Storage.Tests;

[Collection(S3rverCollection.Name)]
public sealed class RetryTests(S3rverFixture server, ITestOutputHelper output)
{
    private const int RetryEvent = 4103;

    [Fact]
    public async Task A_connection_reset_in_the_middle_of_a_part_is_retried_and_the_object_is_intact()
    {
        await using var proxy = new FaultyProxy(server.Port, ProxyFault.CutUploadBody, cutAfterBytes: 1024 * 1024);
        using var run = new TempDirectory();
        var big = run.WriteRandom("out/weights/best.pt", 12L * 1024 * 1024 + 3, seed: 11);
        var options = server.Options(proxy.Url);
        options.MultipartThresholdBytes = 8 * 1024 * 1024;
        options.MultipartPartSizeBytes = 5 * 1024 * 1024;
        using var store = new S3ArtifactStore(options);

        var result = await store.UploadRunAsync("flaky-multipart", Path.Combine(run.Path, "out"));

        output.WriteLine(string.Join(Environment.NewLine, proxy.Events));
        proxy.FaultCount.Should().Be(1, "the proxy must really have cut a part upload");
        await ServerContentShouldMatchAsync(result.RunPrefix + "weights/best.pt", big);
    }

    [Fact]
    public async Task A_connection_reset_in_the_middle_of_a_single_put_is_retried_and_the_object_is_intact()
    {
        await using var proxy = new FaultyProxy(server.Port, ProxyFault.CutUploadBody, cutAfterBytes: 256 * 1024);
        using var run = new TempDirectory();
        var file = run.WriteRandom("out/checkpoints/epoch-3.pt", 2L * 1024 * 1024, seed: 12);
        using var store = new S3ArtifactStore(server.Options(proxy.Url));

        var result = await store.UploadRunAsync("flaky-put", Path.Combine(run.Path, "out"));

        output.WriteLine(string.Join(Environment.NewLine, proxy.Events));
        proxy.FaultCount.Should().Be(1);
        await ServerContentShouldMatchAsync(result.RunPrefix + "checkpoints/epoch-3.pt", file);
    }

    [Fact]
    public async Task A_503_answer_to_an_upload_is_retried_by_the_store_and_logged()
    {
        await using var proxy = new FaultyProxy(server.Port, ProxyFault.RejectFirstUpload);
        using var run = new TempDirectory();
        var file = run.WriteRandom("out/weights/best.pt", 300_000, seed: 14);
        var logs = new CapturingLoggerProvider();
        using var store = new S3ArtifactStore(server.Options(proxy.Url), logs.CreateLogger<S3ArtifactStore>());

        var result = await store.UploadRunAsync("slow-down", Path.Combine(run.Path, "out"));

        output.WriteLine(string.Join(Environment.NewLine, proxy.Events));
        proxy.FaultCount.Should().Be(1);
        logs.Entries.Should().ContainSingle(e => e.Id.Id == RetryEvent)
            .Which.Text.Should().Contain("Upload of s3://vp-artifacts/").And.Contain("SlowDown").And.Contain("attempt 1");
        await ServerContentShouldMatchAsync(result.RunPrefix + "weights/best.pt", file);
    }

    [Fact]
    public async Task A_connection_reset_in_the_middle_of_a_download_is_retried_into_a_clean_file()
    {
        using var run = new TempDirectory();
        var file = run.WriteRandom("out/weights/best.pt", 3L * 1024 * 1024, seed: 15);
        using (var direct = new S3ArtifactStore(server.Options(prefix: "downloads")))
        {
            await direct.UploadRunAsync("flaky-download", Path.Combine(run.Path, "out"));
        }

        await using var proxy = new FaultyProxy(server.Port, ProxyFault.CutDownloadBody, cutAfterBytes: 512 * 1024);
        var logs = new CapturingLoggerProvider();
        using var store = new S3ArtifactStore(server.Options(proxy.Url, prefix: "downloads"), logs.CreateLogger<S3ArtifactStore>());
        var target = Path.Combine(run.Path, "download", "best.pt");

        await store.DownloadToFileAsync("flaky-download", "weights/best.pt", target);

        output.WriteLine(string.Join(Environment.NewLine, proxy.Events));
        proxy.FaultCount.Should().Be(1);
        logs.Entries.Should().Contain(e => e.Id.Id == RetryEvent && e.Text.StartsWith("Download of", StringComparison.Ordinal));
        Hashes.OfFile(target).Should().Be(Hashes.OfFile(file));
        Directory.GetFiles(Path.GetDirectoryName(target)!).Should().ContainSingle();
    }

    [Fact]
    public async Task With_retries_disabled_a_transient_failure_fails_the_upload_with_a_clear_error()
    {
        await using var proxy = new FaultyProxy(server.Port, ProxyFault.RejectFirstUpload);
        using var run = new TempDirectory();
        run.WriteRandom("out/checkpoints/epoch-3.pt", 100_000, seed: 13);
        var options = server.Options(proxy.Url);
        options.MaxRetryAttempts = 0;
        using var store = new S3ArtifactStore(options);

        var upload = () => store.UploadRunAsync("no-retry", Path.Combine(run.Path, "out"));

        var error = (await upload.Should().ThrowAsync<TrainingException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.ExecutorFailure);
        error.Message.Should().Contain("checkpoints/epoch-3.pt").And.Contain(S3rverFixture.Bucket).And.Contain("SlowDown");
        proxy.FaultCount.Should().Be(1);
    }

    private async Task ServerContentShouldMatchAsync(string key, string localFile)
    {
        using var get = await server.RawClient.GetObjectAsync(S3rverFixture.Bucket, key);
        get.Headers.ContentLength.Should().Be(new FileInfo(localFile).Length);
        Hashes.Of(get.ResponseStream).Should().Be(Hashes.OfFile(localFile), "the object must hold exactly the local bytes");
    }
}
