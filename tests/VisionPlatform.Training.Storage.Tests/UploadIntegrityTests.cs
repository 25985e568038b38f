using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace VisionPlatform.Training.Storage.Tests;

/// <summary>
/// Issue 13 item 7: what the server stored is verified against hashes of the bytes that were read and sent, never against
/// the SHA-256 the upload itself put into the object's metadata. A proxy in front of s3rver alters one byte of a body.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed partial class UploadIntegrityTests(S3rverFixture server, ITestOutputHelper output)
{
    private const int RetryEvent = 4103;
    private const long FileSize = 12L * 1024 * 1024 + 3;

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public async Task A_body_altered_on_the_way_is_detected_naming_the_key_and_resent(bool multipart, bool verifyETags)
    {
        await using var proxy = new FaultyProxy(server.Port, ProxyFault.CorruptUploadBody, cutAfterBytes: 1024 * 1024);
        using var run = new TempDirectory();
        var file = run.WriteRandom("out/weights/best.pt", multipart ? FileSize : 3L * 1024 * 1024, seed: 21);
        var logs = new CapturingLoggerProvider();
        using var store = new S3ArtifactStore(Options(proxy.Url, verifyETags), logs.CreateLogger<S3ArtifactStore>());

        var result = await store.UploadRunAsync("altered", Path.Combine(run.Path, "out"));

        output.WriteLine(string.Join(Environment.NewLine, proxy.Events));
        output.WriteLine(logs.AllText);
        proxy.FaultCount.Should().Be(1, "the proxy must really have altered a body");
        logs.Entries.Should().Contain(e => e.Id.Id == RetryEvent && e.Text.Contains(result.RunPrefix + "weights/best.pt", StringComparison.Ordinal)
            && e.Text.Contains("IntegrityCheckException", StringComparison.Ordinal));
        await ServerContentShouldMatchAsync(result.RunPrefix + "weights/best.pt", file);
        result.Artifacts.Single(a => a.RelativePath == "weights/best.pt").Sha256.Should().Be(Hashes.OfFile(file));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Without_retries_an_altered_body_fails_the_upload_naming_the_key_and_writes_no_manifest(bool multipart)
    {
        await using var proxy = new FaultyProxy(server.Port, ProxyFault.CorruptUploadBody, cutAfterBytes: 1024 * 1024);
        using var run = new TempDirectory();
        run.WriteRandom("out/weights/best.pt", multipart ? FileSize : 3L * 1024 * 1024, seed: 22);
        var options = Options(proxy.Url, verifyETags: false);
        options.MaxRetryAttempts = 0;
        using var store = new S3ArtifactStore(options);

        var upload = () => store.UploadRunAsync("altered-no-retry", Path.Combine(run.Path, "out"));

        var error = (await upload.Should().ThrowAsync<TrainingException>()).Which;
        output.WriteLine(error.Message);
        error.Code.Should().Be(TrainingErrorCode.ExecutorFailure);
        error.Message.Should().Contain(store.GetRunPrefix("altered-no-retry") + "weights/best.pt").And.Contain("integrity check");
        (await ListAsync(store, "altered-no-retry")).Should().NotContain(ArtifactLayout.RunManifestFile);
    }

    [Fact]
    public async Task A_file_that_changes_during_a_multipart_upload_fails_it_instead_of_recording_a_hash_of_other_bytes()
    {
        await using var proxy = new FaultyProxy(server.Port, ProxyFault.None);
        using var run = new TempDirectory();
        var file = run.WriteRandom("out/weights/best.pt", FileSize, seed: 23);
        var options = Options(proxy.Url, verifyETags: true);
        options.MaxConcurrentUploads = 1; // part 2 is read only after part 1 was sent
        using var store = new S3ArtifactStore(options);
        var changed = 0;
        proxy.OnRequest = line =>
        {
            if (line.StartsWith("PUT ", StringComparison.Ordinal) && FirstPart().IsMatch(line) && Interlocked.Exchange(ref changed, 1) == 0)
            {
                // The trainer (or anything else) rewrites a byte of part 2 while part 1 is on the wire.
                using var write = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                write.Position = 6L * 1024 * 1024;
                write.WriteByte(0x42);
                write.WriteByte(0x24);
            }
        };

        var upload = () => store.UploadRunAsync("changing", Path.Combine(run.Path, "out"));

        var error = (await upload.Should().ThrowAsync<TrainingException>()).Which;
        output.WriteLine(error.Message);
        changed.Should().Be(1);
        error.Message.Should().Contain(store.GetRunPrefix("changing") + "weights/best.pt").And.Contain("changed");
        (await ListAsync(store, "changing")).Should().NotContain(ArtifactLayout.RunManifestFile);
    }

    [Fact]
    public async Task A_file_truncated_during_a_multipart_upload_fails_it_with_the_read_error_and_aborts_the_parts()
    {
        await using var proxy = new FaultyProxy(server.Port, ProxyFault.None);
        using var run = new TempDirectory();
        var file = run.WriteRandom("out/weights/best.pt", FileSize, seed: 25);
        var options = Options(proxy.Url, verifyETags: true);
        options.MaxConcurrentUploads = 1;
        var logs = new CapturingLoggerProvider();
        using var store = new S3ArtifactStore(options, logs.CreateLogger<S3ArtifactStore>());
        var truncated = 0;
        proxy.OnRequest = line =>
        {
            if (line.StartsWith("PUT ", StringComparison.Ordinal) && FirstPart().IsMatch(line) && Interlocked.Exchange(ref truncated, 1) == 0)
            {
                using var write = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                write.SetLength(6L * 1024 * 1024); // part 2 (5-10 MiB) now ends early
            }
        };

        var upload = () => store.UploadRunAsync("truncated", Path.Combine(run.Path, "out"));

        var error = (await upload.Should().ThrowAsync<TrainingException>()).Which;
        output.WriteLine(error.Message);
        truncated.Should().Be(1);
        error.Message.Should().Contain(store.GetRunPrefix("truncated") + "weights/best.pt").And.Contain("ended early");
        logs.Entries.Should().Contain(e => e.Id.Id == 4106, "the parts already sent are aborted");
        (await ListAsync(store, "truncated")).Should().BeEmpty();
    }

    [Theory]
    [InlineData(true, true, 0)]
    [InlineData(false, true, 0)]
    [InlineData(true, false, 1)]
    [InlineData(false, false, 1)]
    public async Task The_object_is_read_back_only_when_the_servers_ETags_cannot_vouch_for_it(bool multipart, bool verifyETags, int expectedReads)
    {
        await using var proxy = new FaultyProxy(server.Port, ProxyFault.None);
        using var run = new TempDirectory();
        var file = run.WriteRandom("out/weights/best.pt", multipart ? FileSize : 300_000, seed: 24);
        using var store = new S3ArtifactStore(Options(proxy.Url, verifyETags));

        var result = await store.UploadRunAsync("read-back", Path.Combine(run.Path, "out"));

        var key = result.RunPrefix + "weights/best.pt";
        proxy.Events.Count(e => e.Contains($"GET /{S3rverFixture.Bucket}/{key} ", StringComparison.Ordinal)).Should().Be(expectedReads);
        await ServerContentShouldMatchAsync(key, file);
    }

    private ArtifactStorageOptions Options(string url, bool verifyETags)
    {
        var options = server.Options(url);
        options.MultipartThresholdBytes = 8 * 1024 * 1024;
        options.MultipartPartSizeBytes = 5 * 1024 * 1024;
        options.VerifyETags = verifyETags;
        return options;
    }

    private static async Task<List<string>> ListAsync(S3ArtifactStore store, string jobId)
    {
        var paths = new List<string>();
        await foreach (var a in store.ListRunArtifactsAsync(jobId))
        {
            paths.Add(a.RelativePath);
        }

        return paths;
    }

    private async Task ServerContentShouldMatchAsync(string key, string localFile)
    {
        using var get = await server.RawClient.GetObjectAsync(S3rverFixture.Bucket, key);
        get.Headers.ContentLength.Should().Be(new FileInfo(localFile).Length);
        Hashes.Of(get.ResponseStream).Should().Be(Hashes.OfFile(localFile), "the object must hold exactly the local bytes");
    }

    [GeneratedRegex(@"[?&]partNumber=1(&|\s|$)")]
    private static partial Regex FirstPart();
}
