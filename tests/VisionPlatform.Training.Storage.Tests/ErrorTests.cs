namespace VisionPlatform.Training.Storage.Tests;

[Collection(S3rverCollection.Name)]
public sealed class ErrorTests(S3rverFixture server)
{
    [Fact]
    public async Task A_missing_object_is_ArtifactNotFound_naming_the_bucket_and_key()
    {
        using var store = new S3ArtifactStore(server.Options());
        var key = store.GetRunPrefix("no-such-run") + "weights/best.pt";

        var toStream = () => store.DownloadAsync("no-such-run", "weights/best.pt", new MemoryStream());
        var error = (await toStream.Should().ThrowAsync<TrainingException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.ArtifactNotFound);
        error.Message.Should().Contain(key).And.Contain(S3rverFixture.Bucket);
        error.JobId.Should().Be("no-such-run");

        using var dir = new TempDirectory();
        var toFile = () => store.DownloadToFileAsync("no-such-run", "weights/best.pt", Path.Combine(dir.Path, "best.pt"));
        (await toFile.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.ArtifactNotFound);
        Directory.GetFiles(dir.Path).Should().BeEmpty();

        var listed = new List<StoredArtifact>();
        await foreach (var a in store.ListRunArtifactsAsync("no-such-run"))
        {
            listed.Add(a);
        }

        listed.Should().BeEmpty("an unknown run simply has no artifacts");
    }

    [Fact]
    public async Task A_missing_bucket_is_ArtifactNotFound_naming_the_bucket_and_the_setting()
    {
        var options = server.Options();
        options.Bucket = "no-such-bucket-" + Guid.NewGuid().ToString("N")[..8];
        using var store = new S3ArtifactStore(options);

        var list = async () =>
        {
            await foreach (var unused in store.ListRunArtifactsAsync("job"))
            {
            }
        };
        var error = (await list.Should().ThrowAsync<TrainingException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.ArtifactNotFound);
        error.Message.Should().Contain($"bucket '{options.Bucket}' does not exist").And.Contain("Training:Storage:Bucket");

        using var run = new TempDirectory();
        run.Write("out/metrics.json", "{}"u8.ToArray());
        var upload = () => store.UploadRunAsync("job", Path.Combine(run.Path, "out"));
        (await upload.Should().ThrowAsync<TrainingException>()).Which.Message.Should().Contain(options.Bucket);

        var download = () => store.DownloadAsync("job", "metrics.json", new MemoryStream());
        (await download.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.ArtifactNotFound);
    }

    [Fact]
    public async Task Wrong_credentials_are_Forbidden_and_the_secret_appears_in_no_message_log_or_ToString()
    {
        // s3rver checks the access key id but not V4 signatures, so an unknown key id is what it refuses.
        const string secret = "wrong-secret-Zq8J2k4Lp0";
        var options = server.Options();
        options.AccessKeyId = "UNKNOWNKEY";
        options.SecretAccessKey = secret;
        var logs = new CapturingLoggerProvider();
        using var store = new S3ArtifactStore(options, logs.CreateLogger<S3ArtifactStore>());
        using var run = new TempDirectory();
        run.Write("out/metrics.json", "{}"u8.ToArray());

        var upload = () => store.UploadRunAsync("secret-job", Path.Combine(run.Path, "out"));
        var error = (await upload.Should().ThrowAsync<TrainingException>()).Which;

        error.Code.Should().Be(TrainingErrorCode.Forbidden);
        error.Message.Should().Contain("Training:Storage:AccessKeyId");
        error.ToString().Should().NotContain(secret, "the exception, its inner exceptions and stack must not carry the secret");
        logs.AllText.Should().NotContain(secret);
        logs.Entries.Should().NotBeEmpty();
        options.ToString().Should().NotContain(secret).And.Contain("SecretAccessKey = (redacted)");
    }

    [Fact]
    public async Task Bad_arguments_fail_before_any_request()
    {
        using var store = new S3ArtifactStore(server.Options());
        using var run = new TempDirectory();

        var traversal = () => store.DownloadAsync("job", "../other-job/weights/best.pt", new MemoryStream());
        (await traversal.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("'..'");

        var missingDir = () => store.UploadRunAsync("job", Path.Combine(run.Path, "missing"));
        var e1 = (await missingDir.Should().ThrowAsync<TrainingException>()).Which;
        e1.Code.Should().Be(TrainingErrorCode.ValidationFailed);
        e1.Message.Should().Contain("does not exist");

        run.Write("out/" + ArtifactLayout.RunManifestFile, "{}"u8.ToArray());
        var reserved = () => store.UploadRunAsync("job", Path.Combine(run.Path, "out"));
        (await reserved.Should().ThrowAsync<TrainingException>()).Which.Message.Should().Contain($"'{ArtifactLayout.RunManifestFile}'").And.Contain("reserved");

        var missingLog = () => store.UploadRunAsync("job", Path.Combine(run.Path, "out"), Path.Combine(run.Path, "nope.log"));
        (await missingLog.Should().ThrowAsync<TrainingException>()).Which.Message.Should().Contain("nope.log");

        var emptyJob = () => store.UploadRunAsync("", run.Path);
        await emptyJob.Should().ThrowAsync<ArgumentException>();
    }
}

[Collection(S3rverCollection.Name)]
public sealed class CancellationTests(S3rverFixture server)
{
    [Fact]
    public async Task A_cancelled_upload_throws_OperationCanceledException_and_leaves_no_run_behind()
    {
        using var run = new TempDirectory();
        run.WriteRandom("out/weights/best.pt", 30L * 1024 * 1024, seed: 21);
        var options = server.Options();
        options.MultipartThresholdBytes = 5 * 1024 * 1024;
        options.MultipartPartSizeBytes = 5 * 1024 * 1024;
        options.MaxConcurrentUploads = 1;
        var logs = new CapturingLoggerProvider();
        using var store = new S3ArtifactStore(options, logs.CreateLogger<S3ArtifactStore>());
        using var cancel = new CancellationTokenSource();

        // Cancel as soon as the first part is on its way.
        var upload = store.UploadRunAsync("cancelled", Path.Combine(run.Path, "out"), cancellationToken: cancel.Token);
        await cancel.CancelAsync();
        var act = () => upload;

        await act.Should().ThrowAsync<OperationCanceledException>();
        var listed = new List<StoredArtifact>();
        await foreach (var a in store.ListRunArtifactsAsync("cancelled"))
        {
            listed.Add(a);
        }

        listed.Should().BeEmpty("neither the weights nor the manifest may appear for a cancelled upload");
    }
}

[Collection(S3rverCollection.Name)]
public sealed class IntegrityTests(S3rverFixture server)
{
    [Fact]
    public async Task A_server_that_stores_chunk_framing_as_data_is_caught_by_the_integrity_check()
    {
        // s3rver does not decode aws-chunked bodies: with chunk encoding forced on, what it stores is not what was sent.
        using var run = new TempDirectory();
        run.Write("out/metrics.json", "{\"map50\":0.5}"u8.ToArray());
        var options = server.Options();
        options.UseChunkEncoding = true;
        options.RequestChecksumCalculation = Amazon.Runtime.RequestChecksumCalculation.WHEN_SUPPORTED;
        options.MaxRetryAttempts = 1;
        using var store = new S3ArtifactStore(options);

        var upload = () => store.UploadRunAsync("framed", Path.Combine(run.Path, "out"));

        var error = (await upload.Should().ThrowAsync<TrainingException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.ExecutorFailure);
        error.Message.Should().Contain("integrity check").And.Contain("ETag").And.Contain("metrics.json").And.Contain("UseChunkEncoding");

        // Without the ETag comparison, reading the object back catches it: the stored size differs.
        options.VerifyETags = false;
        using var noETags = new S3ArtifactStore(options);
        var second = () => noETags.UploadRunAsync("framed", Path.Combine(run.Path, "out"));
        (await second.Should().ThrowAsync<TrainingException>()).Which.Message
            .Should().Contain("the server stored").And.Contain("but 13 were sent").And.Contain("UseChunkEncoding");
    }
}
