using System.Text;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace VisionPlatform.Training.Kubernetes.Tests.ClusterSetup;

/// <summary>EnsureClusterResourcesAsync against the test cluster: create, idempotence, drift, conflicts and overwrite.</summary>
public class EnsureClusterResourcesTests
{
    private const string Ns = "training";

    [Fact]
    public async Task A_fresh_cluster_gets_every_object()
    {
        await using var h = await SetupHarness.StartAsync();

        var report = await h.Setup.EnsureClusterResourcesAsync();

        report.Resources.Select(r => $"{r.Kind}/{r.Name}:{r.State}").Should().Equal(
            "Namespace/training:Created",
            "ServiceAccount/training-job:Created",
            "Secret/r2-credentials:Created",
            "ConfigMap/backend-config:Created",
            "Role/training-executor:Created",
            "RoleBinding/training-executor:Created",
            "NetworkPolicy/training-egress:Created");
        report.IsInSync.Should().BeTrue();
        report.HasConflicts.Should().BeFalse();

        var ns = await h.Client.CoreV1.ReadNamespaceAsync(Ns);
        ns.Metadata.Labels.Should().Contain(KubernetesLabels.ManagedBy, KubernetesLabels.ManagedByValue);

        var account = await h.Client.CoreV1.ReadNamespacedServiceAccountAsync("training-job", Ns);
        account.AutomountServiceAccountToken.Should().BeFalse();

        var secret = await h.Client.CoreV1.ReadNamespacedSecretAsync("r2-credentials", Ns);
        secret.Type.Should().Be("Opaque");
        secret.Data.ToDictionary(p => p.Key, p => Encoding.UTF8.GetString(p.Value)).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["endpoint"] = "https://account.r2.cloudflarestorage.com",
            ["access-key"] = SetupHarness.AccessKeyValue,
            ["secret-key"] = SetupHarness.SecretKeyValue,
        });

        var config = await h.Client.CoreV1.ReadNamespacedConfigMapAsync("backend-config", Ns);
        config.Data.Should().BeEquivalentTo(new Dictionary<string, string> { ["api-url"] = "http://backend.platform.svc:8000" });

        var binding = await h.Client.RbacAuthorizationV1.ReadNamespacedRoleBindingAsync("training-executor", Ns);
        binding.RoleRef.Should().BeEquivalentTo(new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "training-executor" });
        binding.Subjects.Should().ContainSingle().Which.Should().BeEquivalentTo(new Rbacv1Subject { Kind = "ServiceAccount", Name = "backend", NamespaceProperty = "platform" });

        // The training pods' account has no API permissions: no binding names it.
        var bindings = await h.Client.RbacAuthorizationV1.ListNamespacedRoleBindingAsync(Ns);
        bindings.Items.SelectMany(b => b.Subjects ?? []).Should().NotContain(s => s.Name == "training-job");

        var policy = await h.Client.NetworkingV1.ReadNamespacedNetworkPolicyAsync("training-egress", Ns);
        policy.Spec.PolicyTypes.Should().Equal("Egress");
        policy.Spec.PodSelector.MatchLabels.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            [KubernetesLabels.App] = KubernetesLabels.AppValue,
            [KubernetesLabels.ManagedBy] = KubernetesLabels.ManagedByValue,
        });
        policy.Spec.Ingress.Should().BeNullOrEmpty();
        policy.Spec.Egress.SelectMany(r => r.Ports).Select(p => $"{p.Protocol}/{p.Port.Value}")
            .Should().BeEquivalentTo("UDP/53", "TCP/53", "TCP/443");
        policy.Spec.Egress.Should().OnlyContain(r => r.To == null || r.To.Count == 0, "DNS and HTTPS are allowed to any destination");
    }

    [Fact]
    public async Task The_backend_role_grants_exactly_the_listed_rules()
    {
        await using var h = await SetupHarness.StartAsync();
        await h.Setup.EnsureClusterResourcesAsync();

        var role = await h.Client.RbacAuthorizationV1.ReadNamespacedRoleAsync("training-executor", Ns);

        role.Rules.Select(r => new
        {
            ApiGroups = r.ApiGroups?.ToArray(),
            Resources = r.Resources?.ToArray(),
            Verbs = r.Verbs?.ToArray(),
            ResourceNames = r.ResourceNames?.ToArray(),
            NonResourceURLs = r.NonResourceURLs?.ToArray(),
        }).Should().BeEquivalentTo(
            new[]
            {
                new { ApiGroups = (string[]?)["batch"], Resources = (string[]?)["jobs"], Verbs = (string[]?)["create", "get", "list", "watch", "patch", "delete"], ResourceNames = (string[]?)null, NonResourceURLs = (string[]?)null },
                new { ApiGroups = (string[]?)[""], Resources = (string[]?)["pods"], Verbs = (string[]?)["get", "list", "watch"], ResourceNames = (string[]?)null, NonResourceURLs = (string[]?)null },
                new { ApiGroups = (string[]?)[""], Resources = (string[]?)["pods/log"], Verbs = (string[]?)["get"], ResourceNames = (string[]?)null, NonResourceURLs = (string[]?)null },
                new { ApiGroups = (string[]?)[""], Resources = (string[]?)["configmaps"], Verbs = (string[]?)["create", "get", "patch", "delete"], ResourceNames = (string[]?)null, NonResourceURLs = (string[]?)null },
                new { ApiGroups = (string[]?)[""], Resources = (string[]?)["services"], Verbs = (string[]?)["create", "get", "delete"], ResourceNames = (string[]?)null, NonResourceURLs = (string[]?)null },
                new { ApiGroups = (string[]?)[""], Resources = (string[]?)["events"], Verbs = (string[]?)["get", "list", "watch"], ResourceNames = (string[]?)null, NonResourceURLs = (string[]?)null },
                new { ApiGroups = (string[]?)["coordination.k8s.io"], Resources = (string[]?)["leases"], Verbs = (string[]?)["get", "create", "update"], ResourceNames = (string[]?)null, NonResourceURLs = (string[]?)null },
            },
            o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task A_second_run_changes_nothing()
    {
        await using var h = await SetupHarness.StartAsync();
        await h.Setup.EnsureClusterResourcesAsync();
        h.Cluster.Requests.Clear();

        var again = await h.Setup.EnsureClusterResourcesAsync();

        again.Resources.Should().HaveCount(7).And.OnlyContain(r => r.State == ClusterResourceState.Unchanged);
        h.Writes().Should().BeEmpty("a second run only reads");
        h.Cluster.Requests.CountOf("get").Should().Be(7);
    }

    [Fact]
    public async Task Drifted_objects_are_reported_and_not_overwritten_but_a_managed_secret_is_updated()
    {
        await using var h = await SetupHarness.StartAsync();
        await h.Setup.EnsureClusterResourcesAsync();
        var role = await h.Client.RbacAuthorizationV1.ReadNamespacedRoleAsync("training-executor", Ns);
        role.Rules[0].Verbs.Add("patch");
        await h.Client.RbacAuthorizationV1.ReplaceNamespacedRoleAsync(role, "training-executor", Ns);
        var config = await h.Client.CoreV1.ReadNamespacedConfigMapAsync("backend-config", Ns);
        config.Data["api-url"] = "http://elsewhere:8000";
        await h.Client.CoreV1.ReplaceNamespacedConfigMapAsync(config, "backend-config", Ns);
        var secret = await h.Client.CoreV1.ReadNamespacedSecretAsync("r2-credentials", Ns);
        secret.Data["secret-key"] = Encoding.UTF8.GetBytes("rotated-by-hand");
        await h.Client.CoreV1.ReplaceNamespacedSecretAsync(secret, "r2-credentials", Ns);

        var report = await h.Setup.EnsureClusterResourcesAsync();

        report.HasConflicts.Should().BeTrue();
        report.Find("Role", "training-executor")!.State.Should().Be(ClusterResourceState.Conflict);
        report.Find("Role", "training-executor")!.Differences.Should().Equal("rules");
        report.Find("ConfigMap", "backend-config")!.State.Should().Be(ClusterResourceState.Conflict);
        report.Find("ConfigMap", "backend-config")!.Differences.Should().Equal("data[api-url]");
        report.Find("ConfigMap", "backend-config")!.Message.Should().Contain("OverwriteConflicts");
        report.Find("Secret", "r2-credentials")!.State.Should().Be(ClusterResourceState.Updated, "the SDK's own Secret is created or updated from options");
        report.Find("Secret", "r2-credentials")!.Differences.Should().Equal("data[secret-key]");

        (await h.Client.RbacAuthorizationV1.ReadNamespacedRoleAsync("training-executor", Ns)).Rules[0].Verbs.Should().Contain("patch", "a conflict is left alone");
        (await h.Client.CoreV1.ReadNamespacedConfigMapAsync("backend-config", Ns)).Data["api-url"].Should().Be("http://elsewhere:8000");
        var updated = await h.Client.CoreV1.ReadNamespacedSecretAsync("r2-credentials", Ns);
        Encoding.UTF8.GetString(updated.Data["secret-key"]).Should().Be(SetupHarness.SecretKeyValue);
        h.Logger.AllText.Should().NotContain(SetupHarness.SecretKeyValue).And.NotContain("rotated-by-hand");
    }

    [Fact]
    public async Task Objects_the_SDK_did_not_create_are_conflicts_and_left_alone()
    {
        await using var h = await SetupHarness.StartAsync(c => c.Namespaces.Add(Ns));

        // What the old set-up script left: plain objects without the SDK's labels.
        await h.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "r2-credentials" },
            StringData = new Dictionary<string, string> { ["secret-key"] = "from-the-old-script" },
        }, Ns);
        await h.Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "training-executor" },
            Rules = [.. SetupRules()],
        }, Ns);

        var report = await h.Setup.EnsureClusterResourcesAsync();

        report.Find("Namespace", Ns)!.State.Should().Be(ClusterResourceState.Unchanged, "an existing namespace is shared, not a conflict");
        var secret = report.Find("Secret", "r2-credentials")!;
        secret.State.Should().Be(ClusterResourceState.Conflict);
        secret.Message.Should().Contain("not created by the SDK");
        secret.Differences.Should().Equal("data[access-key]", "data[endpoint]", "data[secret-key]");
        var role = report.Find("Role", "training-executor")!;
        role.State.Should().Be(ClusterResourceState.Conflict, "same rules, but not the SDK's object");
        role.Differences.Should().BeEmpty();
        report.Find("ServiceAccount", "training-job")!.State.Should().Be(ClusterResourceState.Created);

        var stored = await h.Client.CoreV1.ReadNamespacedSecretAsync("r2-credentials", Ns);
        Encoding.UTF8.GetString(stored.Data["secret-key"]).Should().Be("from-the-old-script");
        stored.Data.Should().ContainSingle();
        report.ToString().Should().NotContain("from-the-old-script").And.NotContain(SetupHarness.SecretKeyValue);
    }

    [Fact]
    public async Task Conflicts_are_overwritten_when_asked_keeping_what_others_added()
    {
        await using var h = await SetupHarness.StartAsync(c => c.Namespaces.Add(Ns));
        await h.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "r2-credentials", Labels = new Dictionary<string, string> { ["team"] = "ml" } },
            StringData = new Dictionary<string, string> { ["secret-key"] = "from-the-old-script" },
        }, Ns);
        await h.Setup.EnsureClusterResourcesAsync(SetupHarness.Options(o => o.SecretData.Remove("secret-key")));
        var role = await h.Client.RbacAuthorizationV1.ReadNamespacedRoleAsync("training-executor", Ns);
        role.Rules.Add(new V1PolicyRule { ApiGroups = [""], Resources = ["secrets"], Verbs = ["get"] });
        await h.Client.RbacAuthorizationV1.ReplaceNamespacedRoleAsync(role, "training-executor", Ns);

        // The binding's roleRef cannot change in place: overwriting it means delete and create.
        await h.Client.RbacAuthorizationV1.DeleteNamespacedRoleBindingAsync("training-executor", Ns);
        await h.Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "training-executor", Labels = new Dictionary<string, string>(ClusterManifest.ManagedLabels) },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "something-else" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "backend", NamespaceProperty = "platform" }],
        }, Ns);

        var report = await h.Setup.EnsureClusterResourcesAsync(SetupHarness.Options(o => o.OverwriteConflicts = true));

        report.Find("Secret", "r2-credentials")!.State.Should().Be(ClusterResourceState.Updated);
        report.Find("Role", "training-executor")!.State.Should().Be(ClusterResourceState.Updated);
        report.Find("RoleBinding", "training-executor")!.State.Should().Be(ClusterResourceState.Updated);
        report.Find("RoleBinding", "training-executor")!.Differences.Should().Equal("roleRef");
        report.IsInSync.Should().BeTrue();

        var secret = await h.Client.CoreV1.ReadNamespacedSecretAsync("r2-credentials", Ns);
        Encoding.UTF8.GetString(secret.Data["secret-key"]).Should().Be(SetupHarness.SecretKeyValue);
        secret.Metadata.Labels.Should().Contain("team", "ml").And.Contain(KubernetesLabels.ManagedBy, KubernetesLabels.ManagedByValue);
        (await h.Client.RbacAuthorizationV1.ReadNamespacedRoleAsync("training-executor", Ns)).Rules.Should().HaveCount(7);
        (await h.Client.RbacAuthorizationV1.ReadNamespacedRoleBindingAsync("training-executor", Ns)).RoleRef.Name.Should().Be("training-executor");

        h.Cluster.Requests.Clear();
        (await h.Setup.EnsureClusterResourcesAsync()).Resources.Should().OnlyContain(r => r.State == ClusterResourceState.Unchanged);
        h.Writes().Should().BeEmpty();
    }

    [Fact]
    public async Task Objects_without_configured_values_are_skipped_and_only_looked_for()
    {
        await using var h = await SetupHarness.StartAsync();
        var options = new ClusterSetupOptions();

        var report = await h.Setup.EnsureClusterResourcesAsync(options);

        report.Resources.Select(r => $"{r.Kind}:{r.State}").Should().Equal(
            "Namespace:Created", "ServiceAccount:Created", "Secret:Skipped", "ConfigMap:Skipped", "Role:Created", "RoleBinding:Skipped", "NetworkPolicy:Skipped");
        report.Find("Secret", "r2-credentials")!.Message.Should().Contain("Training:Kubernetes:ClusterSetup:SecretData").And.Contain("does not exist");
        report.Find("ConfigMap", "backend-config")!.Message.Should().Contain("api-url");
        report.Find("RoleBinding", "training-executor")!.Message.Should().Contain("Training:Kubernetes:ClusterSetup:Backend:Name");
        report.IsInSync.Should().BeTrue();
        h.Writes().Select(w => w.Resource).Should().BeEquivalentTo("namespaces", "serviceaccounts", "roles");
    }

    [Fact]
    public async Task The_secret_is_filled_from_the_artifact_store_credentials_for_the_keys_the_Jobs_read()
    {
        await using var h = await SetupHarness.StartAsync();
        var storage = new VisionPlatform.Training.Storage.ArtifactStorageConnection
        {
            ServiceUrl = "https://account.r2.cloudflarestorage.com",
            AccessKeyId = SetupHarness.AccessKeyValue,
            SecretAccessKey = SetupHarness.SecretKeyValue,
        };
        using var setup = new KubernetesClusterSetup(h.Client, h.ExecutorOptions, new ClusterSetupOptions(), storage);

        var report = await setup.EnsureClusterResourcesAsync();

        report.Find("Secret", "r2-credentials")!.State.Should().Be(ClusterResourceState.Created);
        var secret = await h.Client.CoreV1.ReadNamespacedSecretAsync("r2-credentials", Ns);
        secret.Data.ToDictionary(p => p.Key, p => Encoding.UTF8.GetString(p.Value)).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["endpoint"] = "https://account.r2.cloudflarestorage.com",
            ["access-key"] = SetupHarness.AccessKeyValue,
            ["secret-key"] = SetupHarness.SecretKeyValue,
        });
    }

    [Fact]
    public async Task Through_DI_the_secret_is_filled_from_the_connection_AddArtifactStorage_registers()
    {
        await using var h = await SetupHarness.StartAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Training:Kubernetes:Connection:Host"] = h.ExecutorOptions.Connection.Host,
            ["Training:Storage:ServiceUrl"] = "https://account.r2.cloudflarestorage.com",
            ["Training:Storage:Bucket"] = "training",
            ["Training:Storage:AccessKeyId"] = SetupHarness.AccessKeyValue,
            ["Training:Storage:SecretAccessKey"] = SetupHarness.SecretKeyValue,
        }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors()
            .AddKubernetes(configuration.GetSection("Training:Kubernetes"))
            .AddArtifactStorage(configuration.GetSection("Training:Storage"));
        await using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<KubernetesClusterSetup>().EnsureClusterResourcesAsync();

        report.Find("Secret", "r2-credentials")!.State.Should().Be(ClusterResourceState.Created);
        var secret = await h.Client.CoreV1.ReadNamespacedSecretAsync("r2-credentials", Ns);
        secret.Data.ToDictionary(p => p.Key, p => Encoding.UTF8.GetString(p.Value)).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["endpoint"] = "https://account.r2.cloudflarestorage.com",
            ["access-key"] = SetupHarness.AccessKeyValue,
            ["secret-key"] = SetupHarness.SecretKeyValue,
        });
    }

    [Fact]
    public async Task Training_pods_account_follows_the_executors_ServiceAccountName()
    {
        await using var h = await SetupHarness.StartAsync();
        h.ExecutorOptions.ServiceAccountName = "trainer";
        using var setup = new KubernetesClusterSetup(h.Client, h.ExecutorOptions, SetupHarness.Options());

        var report = await setup.EnsureClusterResourcesAsync();

        report.Find("ServiceAccount", "trainer")!.State.Should().Be(ClusterResourceState.Created);
        (await h.Client.CoreV1.ReadNamespacedServiceAccountAsync("trainer", Ns)).AutomountServiceAccountToken.Should().BeFalse();
    }

    private static IEnumerable<V1PolicyRule> SetupRules() =>
    [
        new() { ApiGroups = ["batch"], Resources = ["jobs"], Verbs = ["create", "get", "list", "watch", "patch", "delete"] },
        new() { ApiGroups = [""], Resources = ["pods"], Verbs = ["get", "list", "watch"] },
        new() { ApiGroups = [""], Resources = ["pods/log"], Verbs = ["get"] },
        new() { ApiGroups = [""], Resources = ["configmaps"], Verbs = ["create", "get", "patch", "delete"] },
        new() { ApiGroups = [""], Resources = ["services"], Verbs = ["create", "get", "delete"] },
        new() { ApiGroups = [""], Resources = ["events"], Verbs = ["get", "list", "watch"] },
        new() { ApiGroups = ["coordination.k8s.io"], Resources = ["leases"], Verbs = ["get", "create", "update"] },
    ];
}
