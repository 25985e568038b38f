using Amazon.S3.Model;

namespace VisionPlatform.Training.Storage.Tests;

/// <summary>Issue 13 item 7: a re-upload removes only what an earlier upload of the same run wrote (its manifest's files).</summary>
[Collection(S3rverCollection.Name)]
public sealed class ReuploadOwnershipTests(S3rverFixture server)
{
    [Fact]
    public async Task A_re_upload_keeps_objects_the_trainer_wrote_under_the_run_prefix_and_removes_its_own_stale_file()
    {
        using var run = new TempDirectory();
        run.Write("out/weights/best.pt", Hashes.RandomBytes(1000, 1));
        run.Write("out/checkpoints/epoch-1.pt", Hashes.RandomBytes(1000, 2));
        using var store = new S3ArtifactStore(server.Options());
        const string jobId = "trainer-wrote";
        var prefix = store.GetRunPrefix(jobId);

        // The trainer uploads through VP_ARTIFACT_PREFIX: once before the SDK's first upload, once between the two.
        var early = Hashes.RandomBytes(700, 3);
        await PutAsync(prefix + "trainer/early.bin", early);
        await store.UploadRunAsync(jobId, Path.Combine(run.Path, "out"));
        var late = Hashes.RandomBytes(900, 4);
        await PutAsync(prefix + "trainer/late.bin", late);

        File.Delete(Path.Combine(run.Path, "out/checkpoints/epoch-1.pt"));
        var second = await store.UploadRunAsync(jobId, Path.Combine(run.Path, "out"));

        second.RemovedStaleObjects.Should().Be(1, "only the SDK's own stale checkpoint goes");
        var paths = new List<string>();
        await foreach (var a in store.ListRunArtifactsAsync(jobId))
        {
            paths.Add(a.RelativePath);
        }

        paths.Should().BeEquivalentTo(["weights/best.pt", "trainer/early.bin", "trainer/late.bin", ArtifactLayout.RunManifestFile]);
        (await ReadAsync(prefix + "trainer/early.bin")).Should().Be(Hashes.Of(early));
        (await ReadAsync(prefix + "trainer/late.bin")).Should().Be(Hashes.Of(late));
    }

    [Fact]
    public async Task A_first_upload_over_a_prefix_the_trainer_filled_removes_nothing()
    {
        using var run = new TempDirectory();
        run.Write("out/weights/best.pt", Hashes.RandomBytes(1000, 5));
        using var store = new S3ArtifactStore(server.Options());
        const string jobId = "pod-then-sdk";
        var prefix = store.GetRunPrefix(jobId);
        await PutAsync(prefix + "weights/extra.pt", Hashes.RandomBytes(10, 6));
        await PutAsync(prefix + "logs/trainer.log", Hashes.RandomBytes(10, 7));

        var result = await store.UploadRunAsync(jobId, Path.Combine(run.Path, "out"));

        result.RemovedStaleObjects.Should().Be(0);
        var paths = new List<string>();
        await foreach (var a in store.ListRunArtifactsAsync(jobId))
        {
            paths.Add(a.RelativePath);
        }

        paths.Should().BeEquivalentTo(["weights/best.pt", "weights/extra.pt", "logs/trainer.log", ArtifactLayout.RunManifestFile]);
    }

    [Fact]
    public async Task A_manifest_file_entry_that_the_trainer_overwrote_with_other_content_is_kept()
    {
        using var run = new TempDirectory();
        run.Write("out/weights/best.pt", Hashes.RandomBytes(1000, 8));
        run.Write("out/notes.txt", Hashes.RandomBytes(100, 9));
        using var store = new S3ArtifactStore(server.Options());
        const string jobId = "overwritten";
        var prefix = store.GetRunPrefix(jobId);
        await store.UploadRunAsync(jobId, Path.Combine(run.Path, "out"));

        // After the SDK's upload, the trainer replaced notes.txt with its own (different size) content.
        var trainers = Hashes.RandomBytes(333, 10);
        await PutAsync(prefix + "notes.txt", trainers);
        File.Delete(Path.Combine(run.Path, "out/notes.txt"));

        var second = await store.UploadRunAsync(jobId, Path.Combine(run.Path, "out"));

        second.RemovedStaleObjects.Should().Be(0, "the object at that path is no longer the one the SDK wrote");
        (await ReadAsync(prefix + "notes.txt")).Should().Be(Hashes.Of(trainers));
    }

    private async Task PutAsync(string key, byte[] content)
    {
        using var body = new MemoryStream(content);
        await server.RawClient.PutObjectAsync(new PutObjectRequest { BucketName = S3rverFixture.Bucket, Key = key, InputStream = body, UseChunkEncoding = false });
    }

    private async Task<string> ReadAsync(string key)
    {
        using var get = await server.RawClient.GetObjectAsync(S3rverFixture.Bucket, key);
        return Hashes.Of(get.ResponseStream);
    }
}
