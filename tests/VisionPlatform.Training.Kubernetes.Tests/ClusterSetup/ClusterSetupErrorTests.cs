using VisionPlatform.Training.Kubernetes.TestCluster.Api;

namespace VisionPlatform.Training.Kubernetes.Tests.ClusterSetup;

/// <summary>Refusals and bad input: clear errors, and a Secret value never in a message, log line or report.</summary>
public class ClusterSetupErrorTests
{
    // Everything except writing Secrets: the set-up gets as far as the Secret and is refused there.
    private static readonly AccessPolicy NoSecretWrites = new(
    [
        new AccessRule(["get", "list", "watch"], ["*"]),
        new AccessRule(["create", "update", "delete"], ["namespaces", "serviceaccounts", "configmaps", "roles", "rolebindings", "networkpolicies"]),
    ]);

    [Fact]
    public async Task A_403_says_what_was_refused_and_how_to_run_the_set_up()
    {
        await using var h = await SetupHarness.StartAsync(c => c.AccessPolicy = new AccessPolicy([new AccessRule(["get", "list", "watch"], ["*"])]));

        var error = (await h.Invoking(x => x.Setup.EnsureClusterResourcesAsync()).Should().ThrowAsync<TrainingException>()).Which;

        error.Code.Should().Be(TrainingErrorCode.Forbidden);
        error.Message.Should().StartWith("Kubernetes RBAC forbids the cluster set-up to create namespaces 'training' (403 Forbidden): ");
        error.Message.Should().Contain("cannot create resource \"namespaces\"").And.Contain("administrator").And.Contain("--print-cluster-setup");
        h.Writes().Should().ContainSingle().Which.StatusCode.Should().Be(403);
    }

    [Fact]
    public async Task A_refused_secret_write_never_echoes_its_values()
    {
        await using var h = await SetupHarness.StartAsync(c => c.AccessPolicy = NoSecretWrites);

        var error = (await h.Invoking(x => x.Setup.EnsureClusterResourcesAsync()).Should().ThrowAsync<TrainingException>()).Which;

        error.Code.Should().Be(TrainingErrorCode.Forbidden);
        error.Message.Should().Contain("create secrets 'r2-credentials' in namespace 'training'");
        error.InnerException.Should().BeNull("the failed request's body holds the Secret's values");
        var everything = error.ToString() + h.Logger.AllText;
        everything.Should().NotContain(SetupHarness.SecretKeyValue).And.NotContain(SetupHarness.AccessKeyValue);
        everything.Should().NotContain(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(SetupHarness.SecretKeyValue)));
    }

    [Fact]
    public async Task An_unreachable_cluster_is_reported_without_secret_values()
    {
        var executor = new KubernetesExecutorOptions();
        executor.Connection.Host = "http://127.0.0.1:1";
        executor.Connection.Resilience.MaxRetryAttempts = 0;
        using var setup = new KubernetesClusterSetup(executor, SetupHarness.Options());

        var error = (await setup.Invoking(s => s.EnsureClusterResourcesAsync()).Should().ThrowAsync<TrainingException>()).Which;

        error.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        error.Message.Should().Contain("Training:Kubernetes:Connection:Host").And.Contain("namespaces 'training'");
        error.ToString().Should().NotContain(SetupHarness.SecretKeyValue);
    }

    [Fact]
    public async Task Invalid_options_for_a_call_are_rejected_before_any_request_naming_the_key()
    {
        await using var h = await SetupHarness.StartAsync();
        var options = SetupHarness.Options(o =>
        {
            o.SecretName = "R2_Credentials";
            o.SecretData["bad key!"] = SetupHarness.SecretKeyValue;
            o.Backend.Kind = "Robot";
        });

        var error = (await h.Invoking(x => x.Setup.CheckClusterResourcesAsync(options)).Should().ThrowAsync<TrainingValidationException>()).Which;

        error.Errors.Select(e => e.Field).Should().BeEquivalentTo(
            "Training:Kubernetes:ClusterSetup:SecretName",
            "Training:Kubernetes:ClusterSetup:SecretData:bad key!",
            "Training:Kubernetes:ClusterSetup:Backend:Kind");
        error.ToString().Should().NotContain(SetupHarness.SecretKeyValue);
        h.Cluster.Requests.Count.Should().Be(0);
        h.Invoking(x => x.Setup.RenderYaml(options)).Should().Throw<TrainingValidationException>();
    }

    [Fact]
    public void Options_and_reports_never_show_secret_values()
    {
        var options = SetupHarness.Options();

        options.ToString().Should().Contain("access-key, endpoint, secret-key").And.NotContain(SetupHarness.SecretKeyValue).And.NotContain(SetupHarness.AccessKeyValue);
    }
}
