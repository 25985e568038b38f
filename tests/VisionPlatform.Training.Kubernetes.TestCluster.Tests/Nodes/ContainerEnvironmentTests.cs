using System.Text;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Nodes;

public class ContainerEnvironmentTests
{
    private static readonly JsonObject Pod = new()
    {
        ["metadata"] = new JsonObject
        {
            ["name"] = "train-0-abcde",
            ["namespace"] = "training",
            ["uid"] = "u-1",
            ["annotations"] = new JsonObject { ["batch.kubernetes.io/job-completion-index"] = "0" },
        },
        ["spec"] = new JsonObject { ["nodeName"] = "node-1" },
        ["status"] = new JsonObject { ["podIP"] = "10.244.0.2" },
    };

    private static JsonObject? Lookup(string kind, string name) => (kind, name) switch
    {
        ("Secret", "r2-credentials") => new JsonObject
        {
            ["data"] = new JsonObject { ["access-key"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("AKIA")) },
        },
        ("ConfigMap", "backend-config") => new JsonObject { ["data"] = new JsonObject { ["api-url"] = "http://backend" } },
        _ => null,
    };

    private static JsonObject Env(string name, JsonObject valueFrom) => new() { ["name"] = name, ["valueFrom"] = valueFrom };

    [Fact]
    public void Values_secrets_config_maps_and_fields_resolve_like_the_kubelet()
    {
        var container = new JsonObject
        {
            ["env"] = new JsonArray(
                new JsonObject { ["name"] = "MLFLOW_TRACKING_URI", ["value"] = "http://mlflow" },
                Env("AWS_ACCESS_KEY_ID", new JsonObject { ["secretKeyRef"] = new JsonObject { ["name"] = "r2-credentials", ["key"] = "access-key" } }),
                Env("BACKEND_API_URL", new JsonObject { ["configMapKeyRef"] = new JsonObject { ["name"] = "backend-config", ["key"] = "api-url" } }),
                Env("POD_NAME", new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "metadata.name" } }),
                Env("JOB_COMPLETION_INDEX", new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "metadata.annotations['batch.kubernetes.io/job-completion-index']" } }),
                new JsonObject { ["name"] = "CALLBACK", ["value"] = "$(BACKEND_API_URL)/cb/$(POD_NAME) $$(KEPT) $(UNKNOWN)" }),
        };

        var env = ContainerEnvironment.Resolve(Pod, container, Lookup, null).ToDictionary(kv => kv.Key, kv => kv.Value);

        env["MLFLOW_TRACKING_URI"].Should().Be("http://mlflow");
        env["AWS_ACCESS_KEY_ID"].Should().Be("AKIA");
        env["BACKEND_API_URL"].Should().Be("http://backend");
        env["POD_NAME"].Should().Be("train-0-abcde");
        env["JOB_COMPLETION_INDEX"].Should().Be("0");
        env["CALLBACK"].Should().Be("http://backend/cb/train-0-abcde $(KEPT) $(UNKNOWN)");
    }

    [Theory]
    [InlineData("secretKeyRef", "missing", "k", "secret \"missing\" not found")]
    [InlineData("secretKeyRef", "r2-credentials", "nope", "couldn't find key nope in Secret training/r2-credentials")]
    [InlineData("configMapKeyRef", "missing", "k", "configmap \"missing\" not found")]
    [InlineData("configMapKeyRef", "backend-config", "nope", "couldn't find key nope in ConfigMap training/backend-config")]
    public void Missing_references_fail_with_the_kubelets_message(string source, string name, string key, string message)
    {
        var container = new JsonObject { ["env"] = new JsonArray(Env("X", new JsonObject { [source] = new JsonObject { ["name"] = name, ["key"] = key } })) };

        var act = () => ContainerEnvironment.Resolve(Pod, container, Lookup, null);

        act.Should().Throw<ContainerConfigException>().WithMessage(message);
    }

    [Fact]
    public void Optional_references_that_are_missing_are_skipped()
    {
        var container = new JsonObject
        {
            ["env"] = new JsonArray(Env("X", new JsonObject { ["secretKeyRef"] = new JsonObject { ["name"] = "missing", ["key"] = "k", ["optional"] = true } })),
        };

        ContainerEnvironment.Resolve(Pod, container, Lookup, null).Should().BeEmpty();
    }

    [Fact]
    public void Empty_dir_mount_paths_in_arguments_map_to_per_pod_directories()
    {
        var data = Directory.CreateTempSubdirectory("vp-volumes-").FullName;
        try
        {
            var pod = new JsonObject
            {
                ["metadata"] = new JsonObject { ["uid"] = "u-9" },
                ["spec"] = new JsonObject
                {
                    ["volumes"] = new JsonArray(
                        new JsonObject { ["name"] = "workspace", ["emptyDir"] = new JsonObject() },
                        new JsonObject { ["name"] = "creds", ["secret"] = new JsonObject { ["secretName"] = "x" } }),
                },
            };
            var container = new JsonObject
            {
                ["volumeMounts"] = new JsonArray(
                    new JsonObject { ["name"] = "workspace", ["mountPath"] = "/workspace" },
                    new JsonObject { ["name"] = "creds", ["mountPath"] = "/creds" }),
            };

            var paths = VolumePaths.For(data, pod, container);
            var host = Path.Combine(data, "pods", "u-9", "volumes", "workspace");

            Directory.Exists(host).Should().BeTrue();
            paths.Map("/workspace/output").Should().Be(host + "/output");
            paths.Map("/workspace").Should().Be(host);
            paths.Map("--output_dir=/workspace/output").Should().Be("--output_dir=" + host + "/output");
            paths.Map("/workspaces").Should().Be("/workspaces");
            paths.Map("/creds/key").Should().Be("/creds/key", "only emptyDir volumes are mapped");
            paths.WorkingDirectory("/app").Should().Be(paths.Sandbox);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public void Config_map_volumes_are_projected_read_only_and_file_arguments_map_to_them()
    {
        var data = Directory.CreateTempSubdirectory("vp-volumes-").FullName;
        try
        {
            var pod = new JsonObject
            {
                ["metadata"] = new JsonObject { ["uid"] = "u-10" },
                ["spec"] = new JsonObject
                {
                    ["volumes"] = new JsonArray(
                        new JsonObject
                        {
                            ["name"] = "trainer-config",
                            ["configMap"] = new JsonObject
                            {
                                ["name"] = "job-config",
                                ["items"] = new JsonArray(new JsonObject { ["key"] = "config.json", ["path"] = "config.json" }),
                            },
                        },
                        new JsonObject { ["name"] = "all-keys", ["configMap"] = new JsonObject { ["name"] = "backend-config" } }),
                },
            };
            var container = new JsonObject
            {
                ["volumeMounts"] = new JsonArray(
                    new JsonObject { ["name"] = "trainer-config", ["mountPath"] = "/etc/visionplatform/config", ["readOnly"] = true },
                    new JsonObject { ["name"] = "all-keys", ["mountPath"] = "/etc/backend" }),
            };
            var configMaps = new Dictionary<string, JsonObject>
            {
                ["job-config"] = new() { ["data"] = new JsonObject { ["config.json"] = "{\"a\": \"\u00e9\"}", ["other"] = "x" } },
                ["backend-config"] = new() { ["data"] = new JsonObject { ["api-url"] = "http://backend" } },
            };

            var paths = VolumePaths.For(data, pod, container, name => configMaps.GetValueOrDefault(name));
            var host = Path.Combine(data, "pods", "u-10", "volumes", "trainer-config");

            File.ReadAllText(Path.Combine(host, "config.json")).Should().Be("{\"a\": \"\u00e9\"}");
            File.Exists(Path.Combine(host, "other")).Should().BeFalse("items select the keys");
            if (!OperatingSystem.IsWindows())
            {
                File.GetUnixFileMode(Path.Combine(host, "config.json")).Should().Be(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
            File.ReadAllText(Path.Combine(data, "pods", "u-10", "volumes", "all-keys", "api-url")).Should().Be("http://backend");
            paths.Map("@/etc/visionplatform/config/config.json").Should().Be("@" + host + "/config.json");
            paths.Map("/etc/backend/api-url").Should().Be(Path.Combine(data, "pods", "u-10", "volumes", "all-keys") + "/api-url");

            configMaps.Remove("job-config");
            var missing = () => VolumePaths.For(data, pod, container, name => configMaps.GetValueOrDefault(name));
            missing.Should().Throw<VolumeMountException>().WithMessage("MountVolume.SetUp failed for volume \"trainer-config\" : configmap \"job-config\" not found");
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public void The_trainer_mapping_runs_the_local_script_with_the_containers_arguments()
    {
        var mapping = ImageMapping.PythonTrainer("/repo/samples/trainer/train.py");

        mapping.BuildArgv(["python", "train.py", "--epochs", "2"]).Should().Equal("python3", "/repo/samples/trainer/train.py", "--epochs", "2");
        mapping.BuildArgv(["python3", "/app/train.py", "--epochs", "2"]).Should().Equal("python3", "/repo/samples/trainer/train.py", "--epochs", "2");
        mapping.BuildArgv(["--epochs", "2"]).Should().Equal("python3", "/repo/samples/trainer/train.py", "--epochs", "2");
        mapping.BuildArgv(["python", "-c", "program", "--", "python", "-m", "torch.distributed.run", "train.py", "--epochs", "2"])
            .Should().Equal("python3", "-c", "program", "--", "python3", "-m", "torch.distributed.run", "/repo/samples/trainer/train.py", "--epochs", "2");
        ImageMapping.Command("/bin/sh", "-c").BuildArgv(["echo hi"]).Should().Equal("/bin/sh", "-c", "echo hi");
        ImageMapping.Passthrough.BuildArgv(["sleep", "1"]).Should().Equal("sleep", "1");
    }

    [Fact]
    public void Images_resolve_with_or_without_a_registry_and_can_be_made_unpullable()
    {
        var registry = new ImageRegistry(new Dictionary<string, ImageMapping> { ["trainer-ultralytics:1.0"] = ImageMapping.Passthrough }, null);

        registry.Resolve("registry.example.com/trainer-ultralytics:1.0").Should().BeSameAs(ImageMapping.Passthrough);
        registry.Resolve("trainer-ultralytics:2.0").Should().BeNull();
        registry.MakeUnpullable("trainer-ultralytics:1.0");
        registry.Resolve("trainer-ultralytics:1.0").Should().BeNull();
        registry.MakePullable("trainer-ultralytics:1.0");
        registry.Resolve("trainer-ultralytics:1.0").Should().NotBeNull();
    }
}
