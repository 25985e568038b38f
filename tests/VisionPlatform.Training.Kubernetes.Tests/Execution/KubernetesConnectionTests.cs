
namespace VisionPlatform.Training.Kubernetes.Tests;

public sealed class KubernetesConnectionTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("vp-k8s-home-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public void Without_any_configuration_the_reason_names_every_way_to_configure_it_and_there_is_no_localhost_fallback()
    {
        var (config, _, error) = Resolve(new KubernetesConnectionOptions(), _ => null);
        config.Should().BeNull();
        error.Should().Contain("Training:Kubernetes:Connection:Host").And.Contain("KUBECONFIG").And.Contain("~/.kube/config");
    }

    [Fact]
    public void An_empty_KUBECONFIG_is_reported_not_thrown()
    {
        var (config, _, error) = Resolve(new KubernetesConnectionOptions(), name => name == "KUBECONFIG" ? string.Empty : null);
        config.Should().BeNull();
        error.Should().Contain("KUBECONFIG").And.Contain("empty");
    }

    [Fact]
    public void A_missing_or_broken_kubeconfig_file_is_reported_with_its_path()
    {
        var missing = Path.Combine(_home, "nope.yaml");
        Resolve(new KubernetesConnectionOptions { KubeConfigPath = missing }, _ => null).Error.Should().Contain(missing).And.Contain("does not exist");

        var broken = Path.Combine(_home, "broken.yaml");
        File.WriteAllText(broken, "this: [is not: a kubeconfig");
        Resolve(new KubernetesConnectionOptions { KubeConfigPath = broken }, _ => null).Error.Should().Contain(broken).And.Contain("cannot be loaded");

        var wrongContext = WriteKubeconfig("ctx.yaml");
        Resolve(new KubernetesConnectionOptions { KubeConfigPath = wrongContext, Context = "prod" }, _ => null).Error.Should().Contain("prod");
    }

    [Fact]
    public void Sources_are_tried_in_order_host_kubeconfig_path_KUBECONFIG_then_home()
    {
        var fromEnv = WriteKubeconfig("env.yaml", "https://10.0.0.2:6443");
        var fromPath = WriteKubeconfig("path.yaml", "https://10.0.0.3:6443");
        Directory.CreateDirectory(Path.Combine(_home, ".kube"));
        File.Copy(WriteKubeconfig("home.yaml", "https://10.0.0.4:6443"), Path.Combine(_home, ".kube", "config"));
        string? Env(string name) => name == "KUBECONFIG" ? fromEnv : null;

        Resolve(new KubernetesConnectionOptions { Host = "https://10.0.0.1:6443" }, Env).Config!.Host.Should().StartWith("https://10.0.0.1:6443");
        Resolve(new KubernetesConnectionOptions { KubeConfigPath = fromPath }, Env).Config!.Host.Should().StartWith("https://10.0.0.3:6443");
        Resolve(new KubernetesConnectionOptions(), Env).Config!.Host.Should().StartWith("https://10.0.0.2:6443");
        Resolve(new KubernetesConnectionOptions(), _ => null).Config!.Host.Should().StartWith("https://10.0.0.4:6443");
    }

    [Fact]
    public void The_KUBECONFIG_files_are_merged_first_file_winning_per_name_and_for_current_context()
    {
        // File a: the shared cluster and user, no current context. File b: its own copies of both (discarded whole), a
        // context of its own, and the current context. As kubectl: b's context runs against a's cluster and user.
        var a = Write("a.yaml", """
            apiVersion: v1
            kind: Config
            clusters:
            - name: shared
              cluster:
                server: https://10.0.0.1:6443
                insecure-skip-tls-verify: true
            users:
            - name: me
              user:
                token: token-from-a
            """);
        var b = Write("b.yaml", """
            apiVersion: v1
            kind: Config
            current-context: work
            clusters:
            - name: shared
              cluster:
                server: https://10.9.9.9:6443
            users:
            - name: me
              user:
                token: token-from-b
            contexts:
            - name: work
              context:
                cluster: shared
                user: me
                namespace: ml
            """);

        var (config, source, error) = Resolve(new KubernetesConnectionOptions(), Kubeconfig(a, b));

        error.Should().BeNull();
        source.Should().Contain("KUBECONFIG");
        config!.Host.Should().StartWith("https://10.0.0.1:6443", "the first file to name a cluster wins");
        config.AccessToken.Should().Be("token-from-a");
        config.CurrentContext.Should().Be("work", "current-context comes from the first file that sets one");
        config.Namespace.Should().Be("ml");

        // The order decides: b first, then b's cluster and user win.
        Resolve(new KubernetesConnectionOptions(), Kubeconfig(b, a)).Config!.Host.Should().StartWith("https://10.9.9.9:6443");
        // And a context can be chosen across the files.
        var c = WriteKubeconfig("c.yaml", "https://10.0.0.3:6443");
        Resolve(new KubernetesConnectionOptions { Context = "work" }, Kubeconfig(c, a, b)).Config!.Host.Should().StartWith("https://10.0.0.1:6443");
        Resolve(new KubernetesConnectionOptions(), Kubeconfig(c, a, b)).Config!.Host.Should().StartWith("https://10.0.0.3:6443", "c sets current-context first");
    }

    [Fact]
    public void Missing_KUBECONFIG_entries_are_skipped_as_kubectl_does_and_none_found_names_what_was_looked_at()
    {
        var present = WriteKubeconfig("present.yaml", "https://10.0.0.5:6443");
        var missing = Path.Combine(_home, "missing.yaml");

        var (config, source, _) = Resolve(new KubernetesConnectionOptions(), Kubeconfig(missing, present));
        config!.Host.Should().StartWith("https://10.0.0.5:6443");
        source.Should().Contain(missing);

        // Only missing files: not ~/.kube/config (KUBECONFIG replaces it), and never localhost:8080.
        Directory.CreateDirectory(Path.Combine(_home, ".kube"));
        File.Copy(WriteKubeconfig("home.yaml", "https://10.0.0.4:6443"), Path.Combine(_home, ".kube", "config"));
        var (none, _, error) = KubernetesConnection.Resolve(new KubernetesConnectionOptions(), Kubeconfig(missing), _home, inCluster: () => false);
        none.Should().BeNull();
        error.Should().Contain(missing).And.Contain("in-cluster").And.Contain("Connection:Host").And.NotContain("localhost");
    }

    [Fact]
    public void Nothing_configured_names_every_place_looked_at()
    {
        var (config, _, error) = KubernetesConnection.Resolve(new KubernetesConnectionOptions(), _ => null, _home, inCluster: () => false);

        config.Should().BeNull();
        error.Should().Contain("Connection:Host (unset)").And.Contain("KubeConfigPath (unset)").And.Contain("KUBECONFIG (unset)")
            .And.Contain(Path.Combine(_home, ".kube", "config")).And.Contain("in-cluster service account");
    }

    [Fact]
    public void Relative_certificate_paths_are_resolved_against_the_file_that_names_them()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_home, "team")).FullName;
        var first = WriteKubeconfig("first.yaml");
        var second = Path.Combine(dir, "second.yaml");
        File.WriteAllText(second, """
            apiVersion: v1
            kind: Config
            clusters:
            - name: other
              cluster:
                server: https://10.0.0.8:6443
                certificate-authority: certs/ca.crt
            users:
            - name: other
              user:
                client-certificate: certs/client.crt
                client-key: /abs/client.key
            """);

        var merged = KubernetesConnection.Merge([first, second]);

        merged.Clusters.Single(x => x.Name == "other").ClusterEndpoint.CertificateAuthority.Should().Be(Path.Combine(dir, "certs", "ca.crt"));
        var user = merged.Users.Single(x => x.Name == "other").UserCredentials;
        user.ClientCertificate.Should().Be(Path.Combine(dir, "certs", "client.crt"));
        user.ClientKey.Should().Be("/abs/client.key");
        merged.CurrentContext.Should().Be("dev");
    }

    [Fact]
    public async Task An_unconfigured_executor_reports_unavailable_with_the_reason_and_refuses_to_start()
    {
        using var executor = new KubernetesTrainingExecutor(
            new KubernetesConnection(new KubernetesConnectionOptions { KubeConfigPath = Path.Combine(_home, "missing.yaml") }),
            Jobs.Builder(), null, null);

        var availability = await executor.CheckAvailabilityAsync();
        availability.IsAvailable.Should().BeFalse();
        availability.Reason.Should().Contain("missing.yaml");

        var start = () => executor.StartAsync(Jobs.Config().Build());
        (await start.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
    }

    [Fact]
    public async Task An_unreachable_api_server_is_unavailable_within_the_timeout()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // Nothing listens on the port any more: connections are refused.

        using var executor = new KubernetesTrainingExecutor(
            Jobs.Builder(o => { o.Connection.Host = $"http://127.0.0.1:{port}"; o.Connection.AvailabilityTimeout = TimeSpan.FromSeconds(10); }));

        var availability = await executor.CheckAvailabilityAsync();

        availability.IsAvailable.Should().BeFalse();
        availability.Reason.Should().Contain("cannot be reached").And.Contain("Connection:Host");
    }

    private (k8s.KubernetesClientConfiguration? Config, string Source, string? Error) Resolve(KubernetesConnectionOptions options, Func<string, string?> env) =>
        KubernetesConnection.Resolve(options, env, _home);

    private static Func<string, string?> Kubeconfig(params string[] paths) =>
        name => name == "KUBECONFIG" ? string.Join(Path.PathSeparator, paths) : null;

    private string Write(string name, string text)
    {
        var path = Path.Combine(_home, name);
        File.WriteAllText(path, text);
        return path;
    }

    private string WriteKubeconfig(string name, string server = "https://10.0.0.9:6443")
    {
        var path = Path.Combine(_home, name);
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            current-context: dev
            clusters:
            - name: dev
              cluster:
                server: {server}
                insecure-skip-tls-verify: true
            contexts:
            - name: dev
              context:
                cluster: dev
                user: dev
            users:
            - name: dev
              user:
                token: test-token
            """);
        return path;
    }
}
