using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Store;

public sealed class ClusterStoreTests
{
    private static ClusterStore NewStore(int history = 100)
    {
        var store = new ClusterStore(historySize: history);
        store.Create(ResourceType.Namespaces, null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "ml" } });
        return store;
    }

    private static JsonObject Named(string name) => new() { ["metadata"] = new JsonObject { ["name"] = name } };

    [Fact]
    public void Create_assigns_identity_and_a_global_resource_version()
    {
        var store = NewStore();
        var a = store.Create(ResourceType.ConfigMaps, "ml", Named("a"));
        var b = store.Create(ResourceType.Jobs, "ml", Named("b"));

        a["kind"]!.GetValue<string>().Should().Be("ConfigMap");
        a["apiVersion"]!.GetValue<string>().Should().Be("v1");
        Guid.TryParse(Json.GetString(a, "metadata", "uid"), out _).Should().BeTrue();
        long.Parse(Json.GetString(b, "metadata", "resourceVersion")!).Should().Be(long.Parse(Json.GetString(a, "metadata", "resourceVersion")!) + 1);
        Json.GetLong(b, "metadata", "generation").Should().Be(1);
        Json.GetLong(a, "metadata", "generation").Should().BeNull();
        Json.GetString(a, "metadata", "creationTimestamp").Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$");
    }

    [Fact]
    public void GenerateName_appends_five_characters_from_the_apiserver_alphabet()
    {
        var store = NewStore();
        var created = store.Create(ResourceType.Jobs, "ml", new JsonObject { ["metadata"] = new JsonObject { ["generateName"] = "train-" } });
        Json.GetString(created, "metadata", "name").Should().MatchRegex("^train-[bcdfghjklmnpqrstvwxz2456789]{5}$");
    }

    [Fact]
    public void Create_in_a_missing_namespace_is_404_and_a_duplicate_is_409()
    {
        var store = NewStore();
        var missing = () => store.Create(ResourceType.Jobs, "nope", Named("a"));
        missing.Should().Throw<StoreException>().Which.Message.Should().Be("namespaces \"nope\" not found");

        store.Create(ResourceType.Jobs, "ml", Named("a"));
        var duplicate = () => store.Create(ResourceType.Jobs, "ml", Named("a"));
        var error = duplicate.Should().Throw<StoreException>().Which;
        error.Code.Should().Be(409);
        error.Reason.Should().Be("AlreadyExists");
        error.Message.Should().Be("jobs.batch \"a\" already exists");
    }

    [Fact]
    public void Update_checks_the_expected_resource_version_and_skips_no_op_writes()
    {
        var store = NewStore();
        var created = store.Create(ResourceType.Jobs, "ml", Named("a"));
        var rv = long.Parse(Json.GetString(created, "metadata", "resourceVersion")!);

        var same = store.Update(ResourceType.Jobs, "ml", "a", o => o);
        Json.GetString(same, "metadata", "resourceVersion").Should().Be(rv.ToString());

        var changed = store.Update(ResourceType.Jobs, "ml", "a", o => { o["spec"] = new JsonObject { ["parallelism"] = 2 }; return o; }, rv);
        Json.GetLong(changed, "metadata", "generation").Should().Be(2);

        var stale = () => store.Update(ResourceType.Jobs, "ml", "a", o => { o["status"] = new JsonObject { ["active"] = 1 }; return o; }, rv);
        stale.Should().Throw<StoreException>().Which.Reason.Should().Be("Conflict");
    }

    [Fact]
    public void Deleting_a_job_orphans_by_default_and_the_last_finalizer_removal_deletes_it()
    {
        var store = NewStore();
        store.Create(ResourceType.Jobs, "ml", Named("a"));

        var terminating = store.Delete(ResourceType.Jobs, "ml", "a", DeleteOptions.Default);
        terminating.Should().NotBeNull();
        Json.Finalizers(terminating!).Should().Equal("orphan");
        Json.GetString(terminating!, "metadata", "deletionTimestamp").Should().NotBeNull();

        store.Update(ResourceType.Jobs, "ml", "a", o => { Json.SetFinalizers(o, []); return o; });
        store.Get(ResourceType.Jobs, "ml", "a").Should().BeNull();
    }

    [Theory]
    [InlineData(PropagationPolicy.Background, null)]
    [InlineData(PropagationPolicy.Foreground, "foregroundDeletion")]
    [InlineData(PropagationPolicy.Orphan, "orphan")]
    public void Propagation_policy_decides_the_finalizer(PropagationPolicy policy, string? finalizer)
    {
        var store = NewStore();
        store.Create(ResourceType.Jobs, "ml", Named("a"));
        var result = store.DeleteWithResult(ResourceType.Jobs, "ml", "a", new DeleteOptions { PropagationPolicy = policy });
        if (finalizer is null)
        {
            result.Removed.Should().BeTrue();
            store.Get(ResourceType.Jobs, "ml", "a").Should().BeNull();
        }
        else
        {
            result.Removed.Should().BeFalse();
            Json.Finalizers(result.Object).Should().Equal(finalizer);
        }
    }

    [Fact]
    public void A_running_pod_is_deleted_gracefully_and_finalized_by_the_node()
    {
        var store = NewStore();
        store.Create(ResourceType.Pods, "ml", new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "p" },
            ["spec"] = new JsonObject { ["nodeName"] = "node-1", ["terminationGracePeriodSeconds"] = 30 },
            ["status"] = new JsonObject { ["phase"] = "Running" },
        });

        var terminating = store.Delete(ResourceType.Pods, "ml", "p", DeleteOptions.Default);
        Json.GetLong(terminating!, "metadata", "deletionGracePeriodSeconds").Should().Be(30);
        store.Get(ResourceType.Pods, "ml", "p").Should().NotBeNull();

        store.FinalizeDelete(ResourceType.Pods, "ml", "p").Removed.Should().BeTrue();
        store.Get(ResourceType.Pods, "ml", "p").Should().BeNull();
    }

    [Fact]
    public void An_unscheduled_pod_is_removed_at_once()
    {
        var store = NewStore();
        store.Create(ResourceType.Pods, "ml", Named("p"));
        store.Delete(ResourceType.Pods, "ml", "p", DeleteOptions.Default).Should().BeNull();
    }

    [Fact]
    public async Task Watch_replays_history_after_a_resource_version_then_follows_live_changes()
    {
        var store = NewStore();
        var a = store.Create(ResourceType.ConfigMaps, "ml", Named("a"));
        var from = long.Parse(Json.GetString(a, "metadata", "resourceVersion")!);
        store.Create(ResourceType.ConfigMaps, "ml", Named("b"));

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var reader = store.Watch(ResourceType.ConfigMaps, "ml", from, cts.Token);
        store.Delete(ResourceType.ConfigMaps, "ml", "a", DeleteOptions.Default);

        var first = await reader.ReadAsync(cts.Token);
        first.Type.Should().Be(StoreEventType.Added);
        Json.GetString(first.Object, "metadata", "name").Should().Be("b");
        var second = await reader.ReadAsync(cts.Token);
        second.Type.Should().Be(StoreEventType.Deleted);
        Json.GetString(second.Object, "metadata", "name").Should().Be("a");
        second.ResourceVersion.Should().BeGreaterThan(first.ResourceVersion);
    }

    [Fact]
    public void Watch_from_a_resource_version_older_than_history_is_410_expired()
    {
        var store = NewStore(history: 2);
        for (var i = 0; i < 5; i++)
        {
            store.Create(ResourceType.ConfigMaps, "ml", Named($"c{i}"));
        }

        var watch = () => store.Watch(ResourceType.ConfigMaps, "ml", 2, CancellationToken.None);
        var error = watch.Should().Throw<StoreException>().Which;
        error.Code.Should().Be(410);
        error.Reason.Should().Be("Expired");
        error.Message.Should().MatchRegex(@"^too old resource version: 2 \(\d+\)$");
    }
}
