using k8s;
using k8s.Autorest;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Validation;

[Collection("api")]
public sealed class RbacAndConfigValidationTests(ApiFixture fixture)
{
    private static async Task<V1Status> Rejected(Func<Task> call)
    {
        var error = (await call.Should().ThrowAsync<HttpOperationException>()).Which;
        ((int)error.Response.StatusCode).Should().Be(422);
        return KubernetesJson.Deserialize<V1Status>(error.Response.Content);
    }

    [Fact]
    public async Task Roles_need_verbs_and_api_groups()
    {
        var ns = await fixture.NewNamespaceAsync();
        var status = await Rejected(() => fixture.Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "r" },
            Rules = [new V1PolicyRule { Resources = ["jobs"] }],
        }, ns));
        status.Details.Causes.Select(c => $"{c.Field}: {c.Message}").Should().BeEquivalentTo(
            "rules[0].verbs: Required value: verbs must contain at least one value",
            "rules[0].apiGroups: Required value: resource rules must supply at least one api group");

        var role = await fixture.Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "r" },
            Rules = [new V1PolicyRule { ApiGroups = ["batch"], Resources = ["jobs"], Verbs = ["create", "get"] }],
        }, ns);
        role.Rules.Should().ContainSingle();
    }

    [Fact]
    public async Task Role_bindings_need_a_valid_role_ref_that_never_changes()
    {
        var ns = await fixture.NewNamespaceAsync();
        var status = await Rejected(() => fixture.Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "b" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Deployment", Name = "r" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "trainer" }],
        }, ns));
        status.Message.Should().Be("RoleBinding.rbac.authorization.k8s.io \"b\" is invalid: roleRef.kind: Unsupported value: \"Deployment\": supported values: \"Role\", \"ClusterRole\"");

        var binding = await fixture.Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "b" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "r" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "trainer", NamespaceProperty = ns }],
        }, ns);
        binding.RoleRef.Name = "other";
        var changed = await Rejected(() => fixture.Client.RbacAuthorizationV1.ReplaceNamespacedRoleBindingAsync(binding, "b", ns));
        changed.Details.Causes.Should().ContainSingle(c => c.Field == "roleRef" && c.Message.EndsWith("cannot change roleRef"));
    }

    [Fact]
    public async Task Secrets_fold_string_data_into_data_and_config_map_keys_are_checked()
    {
        var ns = await fixture.NewNamespaceAsync();
        var secret = await fixture.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "s" },
            StringData = new Dictionary<string, string> { ["token"] = "abc" },
        }, ns);
        secret.Type.Should().Be("Opaque");
        System.Text.Encoding.UTF8.GetString(secret.Data["token"]).Should().Be("abc");

        var status = await Rejected(() => fixture.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "c" },
            Data = new Dictionary<string, string> { ["bad key"] = "x" },
        }, ns));
        status.Details.Causes.Should().ContainSingle(c => c.Field == "data[bad key]");
    }

    [Fact]
    public async Task Service_accounts_are_stored()
    {
        var ns = await fixture.NewNamespaceAsync();
        await fixture.Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "trainer" } }, ns);
        (await fixture.Client.CoreV1.ReadNamespacedServiceAccountAsync("trainer", ns)).Metadata.Name.Should().Be("trainer");
    }
}
