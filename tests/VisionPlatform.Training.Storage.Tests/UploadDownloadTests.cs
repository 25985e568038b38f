using System.Text;
using System.Text.Json;
using Amazon.S3.Model;

namespace VisionPlatform.Training.Storage.Tests;

[Collection(S3rverCollection.Name)]
public sealed class UploadDownloadTests(S3rverFixture server)
{
    [Fact]
    public async Task UploadRun_puts_every_file_under_the_run_prefix_and_the_server_stores_the_exact_bytes()
    {
        using var run = new TempDirectory();
        var files = new Dictionary<string, byte[]>
        {
            ["weights/best.pt"] = Hashes.RandomBytes(300_000, 1),
            ["weights/last.pt"] = Hashes.RandomBytes(5, 2),
            ["checkpoints/epoch-1.pt"] = Hashes.RandomBytes(70_000, 3),
            ["metrics.json"] = Encoding.UTF8.GetBytes("{\"map50\":0.5}"),
            ["results/confusion matrix ü.png"] = Hashes.RandomBytes(1234, 4),
            [".hidden/args.yaml"] = Encoding.UTF8.GetBytes("epochs: 5\n"),
            ["empty.txt"] = [],
        };
        foreach (var (path, content) in files)
        {
            run.Write("out/" + path, content);
        }

        var log = run.Write("train.log", Encoding.UTF8.GetBytes("epoch 1/5 loss=0.3\n"));
        var logs = new CapturingLoggerProvider();
        using var store = new S3ArtifactStore(server.Options(), logs.CreateLogger<S3ArtifactStore>());
        const string jobId = "job 42/ünïcode:*?";

        var result = await store.UploadRunAsync(jobId, Path.Combine(run.Path, "out"), log);

        result.RunPrefix.Should().Be(store.GetRunPrefix(jobId)).And.EndWith("/").And.NotContain(" ").And.NotContain(":");
        result.Artifacts.Select(a => a.RelativePath).Should().BeEquivalentTo(
            files.Keys.Append(ArtifactLayout.TrainLogFile).Append(ArtifactLayout.RunManifestFile));
        result.Artifacts[^1].RelativePath.Should().Be(ArtifactLayout.RunManifestFile, "the manifest is written last");

        // Read back with a plain SDK client, independent of the store: the stored bytes are exactly the local ones.
        foreach (var (path, content) in files.Append(new("logs/train.log", File.ReadAllBytes(log))))
        {
            using var get = await server.RawClient.GetObjectAsync(S3rverFixture.Bucket, result.RunPrefix + path);
            using var copy = new MemoryStream();
            await get.ResponseStream.CopyToAsync(copy);
            Hashes.Of(copy.ToArray()).Should().Be(Hashes.Of(content), $"the server must store the exact bytes of {path}");
            get.Metadata["x-amz-meta-sha256"].Should().Be(Hashes.Of(content));
        }

        // Listing reports every object with its relative path, size and ETag.
        var listed = new List<StoredArtifact>();
        await foreach (var artifact in store.ListRunArtifactsAsync(jobId))
        {
            listed.Add(artifact);
        }

        listed.Select(a => a.RelativePath).Should().BeEquivalentTo(result.Artifacts.Select(a => a.RelativePath));
        listed.Single(a => a.RelativePath == "weights/best.pt").Size.Should().Be(300_000);
        listed.Should().OnlyContain(a => a.Key == result.RunPrefix + a.RelativePath && a.ETag != null && a.LastModified != null);

        // Download through the store, to a stream and to a file.
        using var stream = new MemoryStream();
        var downloaded = await store.DownloadAsync(jobId, "weights/best.pt", stream);
        downloaded.Size.Should().Be(300_000);
        Hashes.Of(stream.ToArray()).Should().Be(Hashes.Of(files["weights/best.pt"]));

        var target = Path.Combine(run.Path, "downloads", "nested", "confusion.png");
        await store.DownloadToFileAsync(jobId, "results/confusion matrix ü.png", target);
        Hashes.OfFile(target).Should().Be(Hashes.Of(files["results/confusion matrix ü.png"]));
        Directory.GetFiles(Path.GetDirectoryName(target)!).Should().ContainSingle("the temporary file is moved into place, not left behind");

        // The manifest lists every file with its SHA-256.
        using var manifestStream = new MemoryStream();
        await store.DownloadAsync(jobId, ArtifactLayout.RunManifestFile, manifestStream);
        using var manifest = JsonDocument.Parse(manifestStream.ToArray());
        manifest.RootElement.GetProperty("jobId").GetString().Should().Be(jobId);
        manifest.RootElement.GetProperty("files").EnumerateArray()
            .Select(f => (f.GetProperty("path").GetString(), f.GetProperty("sha256").GetString()))
            .Should().Contain(("weights/best.pt", Hashes.Of(files["weights/best.pt"])));

        logs.Entries.Should().Contain(e => e.Id.Id == 4102, "a completed upload is logged");
    }

    [Fact]
    public async Task A_file_over_100_MB_goes_up_in_parts_and_round_trips_with_the_same_sha256()
    {
        using var run = new TempDirectory();
        const long size = 110L * 1024 * 1024 + 12_345;
        var big = run.WriteRandom("out/weights/best.pt", size, seed: 7);
        var expected = Hashes.OfFile(big);
        var options = server.Options();
        options.MultipartPartSizeBytes = 16 * 1024 * 1024;
        using var store = new S3ArtifactStore(options);

        var result = await store.UploadRunAsync("big-run", Path.Combine(run.Path, "out"));

        result.Artifacts.Single(a => a.RelativePath == "weights/best.pt").Sha256.Should().Be(expected);
        var head = await server.RawClient.GetObjectMetadataAsync(S3rverFixture.Bucket, result.RunPrefix + "weights/best.pt");
        head.Headers.ContentLength.Should().Be(size);

        var target = Path.Combine(run.Path, "download", "best.pt");
        var downloaded = await store.DownloadToFileAsync("big-run", "weights/best.pt", target);
        downloaded.Size.Should().Be(size);
        Hashes.OfFile(target).Should().Be(expected);

        (await store.DeleteRunAsync("big-run")).Should().Be(2);
    }

    [Fact]
    public async Task Uploading_a_run_again_replaces_its_files_and_removes_those_no_longer_there()
    {
        using var run = new TempDirectory();
        run.Write("out/weights/best.pt", Hashes.RandomBytes(1000, 1));
        run.Write("out/checkpoints/epoch-1.pt", Hashes.RandomBytes(1000, 2));
        using var store = new S3ArtifactStore(server.Options());
        await store.UploadRunAsync("again", Path.Combine(run.Path, "out"));

        File.Delete(Path.Combine(run.Path, "out/checkpoints/epoch-1.pt"));
        var newWeights = Hashes.RandomBytes(2000, 3);
        run.Write("out/weights/best.pt", newWeights);
        var second = await store.UploadRunAsync("again", Path.Combine(run.Path, "out"));

        second.RemovedStaleObjects.Should().Be(1);
        var paths = new List<string>();
        await foreach (var a in store.ListRunArtifactsAsync("again"))
        {
            paths.Add(a.RelativePath);
        }

        paths.Should().BeEquivalentTo(["weights/best.pt", ArtifactLayout.RunManifestFile]);
        using var stream = new MemoryStream();
        await store.DownloadAsync("again", "weights/best.pt", stream);
        Hashes.Of(stream.ToArray()).Should().Be(Hashes.Of(newWeights));
    }

    [Fact]
    public async Task Listing_pages_through_more_than_1000_objects_and_delete_removes_them_all_in_batches()
    {
        var options = server.Options();
        using var store = new S3ArtifactStore(options);
        const string jobId = "many-files";
        var prefix = store.GetRunPrefix(jobId);

        // Seed 1,200 objects directly (the upload path is covered elsewhere); 16 at a time keeps s3rver busy but not flooded.
        await Parallel.ForEachAsync(Enumerable.Range(0, 1200), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await server.RawClient.PutObjectAsync(
                new PutObjectRequest { BucketName = S3rverFixture.Bucket, Key = $"{prefix}checkpoints/{i:D5}.pt", ContentBody = $"c{i}", UseChunkEncoding = false }, ct));

        var listed = new List<StoredArtifact>();
        await foreach (var a in store.ListRunArtifactsAsync(jobId))
        {
            listed.Add(a);
        }

        listed.Should().HaveCount(1200);
        listed.Select(a => a.Key).Should().OnlyHaveUniqueItems();
        listed.Select(a => a.RelativePath).Should().BeInAscendingOrder(StringComparer.Ordinal);
        listed[1199].RelativePath.Should().Be("checkpoints/01199.pt");
        listed[1199].Size.Should().Be("c1199".Length);

        (await store.DeleteRunAsync(jobId)).Should().Be(1200);

        var after = await server.RawClient.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket, Prefix = prefix });
        (after.S3Objects ?? []).Should().BeEmpty();
        (await store.DeleteRunAsync(jobId)).Should().Be(0, "deleting an unknown run deletes nothing");
    }

    [Fact]
    public async Task A_presigned_url_downloads_the_artifact_with_a_plain_HttpClient()
    {
        using var run = new TempDirectory();
        var content = Hashes.RandomBytes(50_000, 9);
        run.Write("out/weights/best.pt", content);
        using var store = new S3ArtifactStore(server.Options());
        await store.UploadRunAsync("presigned", Path.Combine(run.Path, "out"));

        var url = await store.GetDownloadUrlAsync("presigned", "weights/best.pt", TimeSpan.FromMinutes(10));

        url.Scheme.Should().Be("http", "an http endpoint must give an http URL");
        url.Query.Should().MatchRegex("X-Amz-Expires=(599|600|601)(&|$)").And.Contain("X-Amz-Signature=");
        using var http = new HttpClient();
        var bytes = await http.GetByteArrayAsync(url);
        Hashes.Of(bytes).Should().Be(Hashes.Of(content));

        var missing = () => store.GetDownloadUrlAsync("presigned", "weights/missing.pt", TimeSpan.FromMinutes(1));
        (await missing.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.ArtifactNotFound);

        var zero = () => store.GetDownloadUrlAsync("presigned", "weights/best.pt", TimeSpan.Zero);
        await zero.Should().ThrowAsync<ArgumentOutOfRangeException>().WithMessage("*7 days*");
        var tooLong = () => store.GetDownloadUrlAsync("presigned", "weights/best.pt", TimeSpan.FromDays(8));
        await tooLong.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task Downloading_detects_an_object_whose_content_no_longer_matches_its_sha256()
    {
        using var store = new S3ArtifactStore(server.Options());
        var key = store.GetRunPrefix("tampered") + "weights/best.pt";
        var request = new PutObjectRequest { BucketName = S3rverFixture.Bucket, Key = key, ContentBody = "not the weights", UseChunkEncoding = false };
        request.Metadata.Add("x-amz-meta-sha256", Hashes.Of(Encoding.UTF8.GetBytes("the weights")));
        await server.RawClient.PutObjectAsync(request);

        using var run = new TempDirectory();
        var target = Path.Combine(run.Path, "best.pt");
        var act = () => store.DownloadToFileAsync("tampered", "weights/best.pt", target);

        var error = (await act.Should().ThrowAsync<TrainingException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.ExecutorFailure);
        error.Message.Should().Contain("integrity check").And.Contain(key);
        File.Exists(target).Should().BeFalse("a file that failed verification is never moved into place");
        Directory.GetFiles(run.Path).Should().BeEmpty("the temporary file is removed");
    }
}
