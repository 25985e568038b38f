using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Amazon.S3.Model;

namespace VisionPlatform.Training.Storage.Tests;

/// <summary>
/// The reference trainers' checkpoint sync (samples/trainer/checkpoint_store.py: a standard-library S3 client with AWS
/// Signature V4) against the real S3-compatible server, checked with the AWS SDK's own client; and train.py resuming
/// from the store into an empty output directory, as a replacement pod does.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class CheckpointStoreTests(S3rverFixture server)
{
    private static readonly string TrainerDirectory = Path.GetDirectoryName(SubprocessRuns.TrainPy)!;

    // Runs one action of checkpoint_store.py and prints its JSON result: argv = action, endpoint, bucket, then the action's.
    private const string Driver = """
        import base64, json, os, sys
        sys.path.insert(0, os.environ["VP_TRAINER_DIR"])
        import checkpoint_store as cs
        action, endpoint, bucket = sys.argv[1:4]
        client = cs.S3Client(endpoint, os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
        if action == "put":
            with open(sys.argv[5], "rb") as f:
                client.put_object(bucket, sys.argv[4], f.read())
            print(json.dumps({"ok": True}))
        elif action == "get":
            print(json.dumps({"data": base64.b64encode(client.get_object(bucket, sys.argv[4])).decode()}))
        elif action == "list":
            print(json.dumps({"objects": client.list_objects(bucket, sys.argv[4], max_keys=int(sys.argv[5]))}))
        elif action == "get-missing":
            try:
                client.get_object(bucket, sys.argv[4])
                print(json.dumps({"error": None}))
            except cs.S3Error as e:
                print(json.dumps({"error": str(e), "status": e.status, "code": e.code, "retryable": e.retryable}))
        elif action == "restore":
            sync = cs.CheckpointSync(client, sys.argv[4], r"epoch_(\d+)\.pt", retry_delay=0.05)
            restored = sync.restore(sys.argv[5])
            print(json.dumps({"restored": list(restored) if restored else None}))
        elif action == "upload":
            sync = cs.CheckpointSync(client, sys.argv[4], r"epoch_(\d+)\.pt", attempts=2, retry_delay=0.05)
            print(json.dumps({"uploaded": sync.upload(sys.argv[5])}))
        elif action == "sign":
            method, path, query, headers, payload_hash, amz_date, region, key_id, secret = sys.argv[4:13]
            print(json.dumps({"authorization": cs.sign_v4(method, path, query, json.loads(headers), payload_hash, amz_date,
                                                          region, key_id, secret)}))
        """;

    [Fact]
    public async Task The_stdlib_client_puts_objects_the_AWS_SDK_reads_byte_for_byte_and_gets_and_lists_what_it_stored()
    {
        using var dir = new TempDirectory();
        var prefix = $"ckpt-{Guid.NewGuid():N}/run 1/ü/checkpoints/";
        var binary = Hashes.RandomBytes(200_000, 7);

        var put = await RunDriverAsync("put", server.ServiceUrl, S3rverFixture.Bucket, prefix + "epoch_1.pt", dir.Write("epoch_1.pt", binary));
        put.Code.Should().Be(0, put.Stderr);
        using (var stored = await server.RawClient.GetObjectAsync(S3rverFixture.Bucket, prefix + "epoch_1.pt"))
        using (var copy = new MemoryStream())
        {
            await stored.ResponseStream.CopyToAsync(copy);
            copy.ToArray().Should().Equal(binary);
        }

        // Objects the SDK wrote: the stdlib client reads them back and lists every one of them across pages of two.
        for (var i = 2; i <= 5; i++)
        {
            await server.RawClient.PutObjectAsync(new PutObjectRequest { UseChunkEncoding = false, BucketName = S3rverFixture.Bucket, Key = $"{prefix}epoch_{i}.pt", ContentBody = new string('x', i) });
        }

        await server.RawClient.PutObjectAsync(new PutObjectRequest { UseChunkEncoding = false, BucketName = S3rverFixture.Bucket, Key = $"ckpt-elsewhere-{Guid.NewGuid():N}/epoch_9.pt", ContentBody = "other" });

        var get = await RunDriverAsync("get", server.ServiceUrl, S3rverFixture.Bucket, prefix + "epoch_3.pt");
        get.Code.Should().Be(0, get.Stderr);
        Encoding.ASCII.GetString(Convert.FromBase64String(get.Json.GetProperty("data").GetString()!)).Should().Be("xxx");

        var list = await RunDriverAsync("list", server.ServiceUrl, S3rverFixture.Bucket, prefix, "2");
        list.Code.Should().Be(0, list.Stderr);
        list.Json.GetProperty("objects").EnumerateArray().Select(o => (o[0].GetString(), o[1].GetInt64())).Should().Equal(
            (prefix + "epoch_1.pt", 200_000L), (prefix + "epoch_2.pt", 2L), (prefix + "epoch_3.pt", 3L), (prefix + "epoch_4.pt", 4L), (prefix + "epoch_5.pt", 5L));

        var missing = await RunDriverAsync("get-missing", server.ServiceUrl, S3rverFixture.Bucket, prefix + "epoch_99.pt");
        missing.Code.Should().Be(0, missing.Stderr);
        (missing.Json.GetProperty("status").GetInt32(), missing.Json.GetProperty("code").GetString(), missing.Json.GetProperty("retryable").GetBoolean())
            .Should().Be((404, "NoSuchKey", false));
    }

    [Fact]
    public async Task The_stdlib_client_signs_requests_exactly_as_the_AWS_Signature_V4_examples_for_S3()
    {
        // s3rver 3.7.1 accepts any V4 signature of a known access key, so the signature itself is checked against the worked
        // examples of AWS's "Signature Calculations for the Authorization Header" (S3 API reference): GET Object with a
        // Range header, and GET Bucket (list objects) with a query string.
        const string emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        const string date = "20130524T000000Z";
        const string keyId = "AKIAIOSFODNN7EXAMPLE";
        const string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        var getHeaders = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["host"] = "examplebucket.s3.amazonaws.com", ["range"] = "bytes=0-9", ["x-amz-content-sha256"] = emptyHash, ["x-amz-date"] = date,
        });
        var listHeaders = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["host"] = "examplebucket.s3.amazonaws.com", ["x-amz-content-sha256"] = emptyHash, ["x-amz-date"] = date,
        });

        var get = await RunDriverAsync("sign", server.ServiceUrl, S3rverFixture.Bucket, "GET", "/test.txt", "", getHeaders, emptyHash, date, "us-east-1", keyId, secret);
        var list = await RunDriverAsync("sign", server.ServiceUrl, S3rverFixture.Bucket, "GET", "/", "max-keys=2&prefix=J", listHeaders, emptyHash, date, "us-east-1", keyId, secret);

        get.Json.GetProperty("authorization").GetString().Should().Be(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
        list.Json.GetProperty("authorization").GetString().Should().EndWith(
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    }

    [Fact]
    public async Task A_restore_downloads_the_highest_epoch_and_a_failed_upload_is_reported_without_stopping_or_leaking_the_secret()
    {
        using var dir = new TempDirectory();
        var prefix = $"ckpt-{Guid.NewGuid():N}/checkpoints/";
        foreach (var (name, content) in new[] { ("epoch_2.pt", "two"), ("epoch_10.pt", "ten"), ("epoch_9.pt", "nine"), ("last.pt", "last"), ("notes.txt", "n") })
        {
            await server.RawClient.PutObjectAsync(new PutObjectRequest { UseChunkEncoding = false, BucketName = S3rverFixture.Bucket, Key = prefix + name, ContentBody = content });
        }

        var uri = $"s3://{S3rverFixture.Bucket}/{prefix}";
        var restore = await RunDriverAsync("restore", server.ServiceUrl, S3rverFixture.Bucket, uri, Path.Combine(dir.Path, "checkpoints"));

        restore.Code.Should().Be(0, restore.Stderr);
        var restored = restore.Json.GetProperty("restored");
        restored[0].GetInt32().Should().Be(10, "epoch 10 is the newest, whatever the names' order");
        restored[1].GetString().Should().Be(Path.Combine(dir.Path, "checkpoints", "epoch_10.pt"));
        (await File.ReadAllTextAsync(Path.Combine(dir.Path, "checkpoints", "epoch_10.pt"))).Should().Be("ten");
        Directory.GetFiles(Path.Combine(dir.Path, "checkpoints")).Should().ContainSingle("only the newest checkpoint is downloaded");

        var empty = await RunDriverAsync("restore", server.ServiceUrl, S3rverFixture.Bucket, $"s3://{S3rverFixture.Bucket}/ckpt-{Guid.NewGuid():N}/checkpoints/", Path.Combine(dir.Path, "none"));
        empty.Json.GetProperty("restored").ValueKind.Should().Be(JsonValueKind.Null);
        empty.Stderr.Should().Contain("no checkpoint under");

        // Nothing listens on the discard port: the upload fails after its attempts, is reported, and the caller goes on.
        var file = dir.Write("checkpoints/epoch_1.pt", [1, 2, 3]);
        const string secret = "checkpoint-secret-never-printed";
        var failed = await RunPythonAsync(["-c", Driver, "upload", "http://127.0.0.1:9", S3rverFixture.Bucket, uri, file],
            new Dictionary<string, string> { ["VP_TRAINER_DIR"] = TrainerDirectory, ["AWS_SECRET_ACCESS_KEY"] = secret });
        failed.Code.Should().Be(0, failed.Stderr);
        failed.Json.GetProperty("uploaded").GetBoolean().Should().BeFalse();
        failed.Stderr.Should().Contain("attempt 1 of 2, retrying").And.Contain("upload of epoch_1.pt").And.Contain("training goes on");
        (failed.Stdout + failed.Stderr).Should().NotContain(secret);

        var uploaded = await RunDriverAsync("upload", server.ServiceUrl, S3rverFixture.Bucket, uri, file);
        uploaded.Json.GetProperty("uploaded").GetBoolean().Should().BeTrue(uploaded.Stderr);
        (await server.RawClient.GetObjectMetadataAsync(S3rverFixture.Bucket, prefix + "epoch_1.pt")).ContentLength.Should().Be(3);
    }

    [Fact]
    public async Task Train_py_uploads_each_checkpoint_and_a_fresh_output_directory_resumes_after_the_newest_one()
    {
        using var dir = new TempDirectory();
        var prefix = $"ckpt-{Guid.NewGuid():N}/job-1/";
        var env = new Dictionary<string, string>
        {
            ["TRAINING_CHECKPOINT_URI"] = $"s3://{S3rverFixture.Bucket}/{prefix}checkpoints/",
            ["AWS_S3_ENDPOINT_URL"] = server.ServiceUrl,
        };

        var first = await RunPythonAsync([SubprocessRuns.TrainPy, "--job_id", "job-1", "--epochs", "3", "--output_dir", Path.Combine(dir.Path, "first")], env);
        first.Code.Should().Be(0, first.Stderr);
        var keys = (await server.RawClient.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket, Prefix = prefix })).S3Objects.Select(o => o.Key[prefix.Length..]);
        keys.Should().BeEquivalentTo("checkpoints/checkpoint_epoch_1.json", "checkpoints/checkpoint_epoch_2.json", "checkpoints/checkpoint_epoch_3.json", "checkpoints/last.json");
        using (var stored = await server.RawClient.GetObjectAsync(S3rverFixture.Bucket, prefix + "checkpoints/checkpoint_epoch_3.json"))
        using (var reader = new StreamReader(stored.ResponseStream))
        {
            (await reader.ReadToEndAsync()).Should().Be(await File.ReadAllTextAsync(Path.Combine(dir.Path, "first", "checkpoints", "checkpoint_epoch_3.json")));
        }

        var second = await RunPythonAsync([SubprocessRuns.TrainPy, "--job_id", "job-1", "--epochs", "5", "--output_dir", Path.Combine(dir.Path, "second")], env);

        second.Code.Should().Be(0, second.Stderr);
        second.Stdout.Should().Contain("resumed after epoch 3").And.NotContain("Epoch 1/5").And.Contain("Epoch 4/5").And.Contain("Epoch 5/5");
        using var metrics = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir.Path, "second", "metrics.json")));
        metrics.RootElement.GetProperty("resumed_from_epoch").GetInt32().Should().Be(3);
        metrics.RootElement.GetProperty("epochs_trained").EnumerateArray().Select(e => e.GetInt32()).Should().Equal(4, 5);
        metrics.RootElement.GetProperty("history").EnumerateArray().Select(e => e.GetProperty("epoch").GetInt32()).Should().Equal(1, 2, 3, 4, 5);
    }

    private sealed record DriverResult(int Code, string Stdout, string Stderr)
    {
        public JsonElement Json => JsonDocument.Parse(Stdout.Trim().Split('\n')[^1]).RootElement;
    }

    private static Task<DriverResult> RunDriverAsync(params string[] args) =>
        RunPythonAsync(["-c", Driver, .. args], new Dictionary<string, string> { ["VP_TRAINER_DIR"] = TrainerDirectory });

    private static async Task<DriverResult> RunPythonAsync(IEnumerable<string> args, Dictionary<string, string> env)
    {
        var start = new ProcessStartInfo(SubprocessRuns.Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var name in new[] { "TRAINING_CHECKPOINT_URI", "AWS_S3_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION" })
        {
            start.Environment.Remove(name);
        }

        start.Environment["AWS_ACCESS_KEY_ID"] = S3rverFixture.AccessKey;
        start.Environment["AWS_SECRET_ACCESS_KEY"] = S3rverFixture.SecretKey;
        foreach (var (name, value) in env)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"python did not finish within 120 s: {await stderr}");
        }

        return new DriverResult(process.ExitCode, await stdout, await stderr);
    }
}
