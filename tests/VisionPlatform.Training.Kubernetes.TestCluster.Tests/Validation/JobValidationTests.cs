using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Validation;

[Collection("api")]
public sealed class JobValidationTests(ApiFixture fixture)
{
    private const string Base = """
        {"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"train"},
         "spec":{"template":{"spec":{"restartPolicy":"Never",
           "containers":[{"name":"main","image":"busybox:1.36","resources":{"limits":{"cpu":"2","memory":"1Gi"}}}]}}}}
        """;

    private static JsonObject Container(JsonObject job) => (JsonObject)job["spec"]!["template"]!["spec"]!["containers"]![0]!;

    private static JsonObject PodSpec(JsonObject job) => (JsonObject)job["spec"]!["template"]!["spec"]!;

    private async Task<(int Status, JsonObject Body)> PostAsync(Action<JsonObject> mutate)
    {
        var ns = await fixture.NewNamespaceAsync();
        var job = JsonNode.Parse(Base)!.AsObject();
        mutate(job);
        var (status, body, _) = await fixture.SendAsync(HttpMethod.Post, $"/apis/batch/v1/namespaces/{ns}/jobs", job.ToJsonString());
        return (status, body);
    }

    private async Task ExpectInvalid(Action<JsonObject> mutate, string field, string message)
    {
        var (status, body) = await PostAsync(mutate);
        status.Should().Be(422, body.ToJsonString());
        body["details"]!["kind"]!.GetValue<string>().Should().Be("Job");
        var causes = body["details"]!["causes"]!.AsArray().Select(c => (Field: c!["field"]?.GetValue<string>(), Message: c["message"]!.GetValue<string>())).ToList();
        causes.Should().Contain((field, message), body.ToJsonString());
    }

    private async Task ExpectCreated(Action<JsonObject> mutate)
    {
        var (status, body) = await PostAsync(mutate);
        status.Should().Be(201, body.ToJsonString());
    }

    [Fact]
    public async Task Job_names_longer_than_63_fail_on_the_job_name_label()
    {
        var name = new string('a', 64);
        await ExpectInvalid(j => j["metadata"]!["name"] = name, "spec.template.labels", $"Invalid value: \"{name}\": must be no more than 63 characters");
        await ExpectCreated(j => j["metadata"]!["name"] = new string('a', 63));
    }

    [Fact]
    public async Task Names_must_be_dns_subdomains_and_present()
    {
        await ExpectInvalid(j => j["metadata"]!["name"] = "Train", "metadata.name",
            "Invalid value: \"Train\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
        await ExpectInvalid(j => j["metadata"]!.AsObject().Remove("name"), "metadata.name", "Required value: name or generateName is required");
    }

    [Fact]
    public async Task Labels_and_annotations_follow_the_metadata_rules()
    {
        await ExpectInvalid(j => j["metadata"]!["labels"] = new JsonObject { ["app"] = new string('v', 64) }, "metadata.labels",
            $"Invalid value: \"{new string('v', 64)}\": must be no more than 63 characters");
        await ExpectInvalid(j => j["metadata"]!["labels"] = new JsonObject { ["a/b/c"] = "x" }, "metadata.labels",
            "Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
        await ExpectInvalid(j => j["metadata"]!["annotations"] = new JsonObject { ["big"] = new string('x', 262_145) }, "metadata.annotations",
            "Too long: may not be more than 262144 bytes");
        await ExpectCreated(j => j["metadata"]!["annotations"] = new JsonObject { ["big"] = new string('x', 200_000) });
    }

    [Fact]
    public async Task Containers_need_unique_valid_names_and_an_image()
    {
        await ExpectInvalid(j => PodSpec(j)["containers"] = new JsonArray(), "spec.template.spec.containers", "Required value");
        await ExpectInvalid(j => Container(j).Remove("image"), "spec.template.spec.containers[0].image", "Required value");
        await ExpectInvalid(j => PodSpec(j)["containers"]!.AsArray().Add(Container(j).DeepClone()), "spec.template.spec.containers[1].name", "Duplicate value: \"main\"");
        await ExpectInvalid(j => Container(j)["name"] = "Main", "spec.template.spec.containers[0].name",
            "Invalid value: \"Main\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
    }

    [Fact]
    public async Task Env_names_follow_the_relaxed_rule_and_value_excludes_valueFrom()
    {
        await ExpectInvalid(j => Container(j)["env"] = new JsonArray(new JsonObject { ["name"] = "A=B", ["value"] = "1" }), "spec.template.spec.containers[0].env[0].name",
            "Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='");
        await ExpectInvalid(j => Container(j)["env"] = new JsonArray(new JsonObject
        {
            ["name"] = "A",
            ["value"] = "1",
            ["valueFrom"] = new JsonObject { ["secretKeyRef"] = new JsonObject { ["name"] = "s", ["key"] = "k" } },
        }), "spec.template.spec.containers[0].env[0].valueFrom", "Invalid value: \"\": may not be specified when `value` is not empty");
        await ExpectCreated(j => Container(j)["env"] = new JsonArray(new JsonObject { ["name"] = "1ST_EPOCH", ["value"] = "1" }));
    }

    [Fact]
    public async Task Strict_env_names_when_emulating_an_older_cluster()
    {
        await using var cluster = await ApiFixture.StartAsync(o => o.StrictEnvironmentVariableNames = true);
        using var http = new HttpClient { BaseAddress = cluster.Url };
        var job = JsonNode.Parse(Base)!.AsObject();
        Container(job)["env"] = new JsonArray(new JsonObject { ["name"] = "1ST", ["value"] = "1" });
        using var response = await http.PostAsync("/apis/batch/v1/namespaces/default/jobs", new StringContent(job.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        ((int)response.StatusCode).Should().Be(422);
        (await response.Content.ReadAsStringAsync()).Should().Contain("a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit");
    }

    [Fact]
    public async Task Requests_may_not_exceed_limits()
    {
        await ExpectInvalid(j => Container(j)["resources"]!["requests"] = new JsonObject { ["cpu"] = "4" }, "spec.template.spec.containers[0].resources.requests",
            "Invalid value: \"4\": must be less than or equal to cpu limit of 2");
        await ExpectCreated(j => Container(j)["resources"]!["requests"] = new JsonObject { ["cpu"] = "1500m", ["memory"] = "512Mi" });
    }

    [Fact]
    public async Task Extended_resources_are_whole_numbers_with_request_equal_to_limit()
    {
        await ExpectInvalid(j => Container(j)["resources"]!["limits"]!["nvidia.com/gpu"] = "0.5", "spec.template.spec.containers[0].resources.limits[nvidia.com/gpu]",
            "Invalid value: \"500m\": must be an integer");
        await ExpectInvalid(j => Container(j)["resources"]!["requests"] = new JsonObject { ["nvidia.com/gpu"] = "1" }, "spec.template.spec.containers[0].resources.limits",
            "Required value: Limit must be set for non overcommitable resources");
        await ExpectInvalid(j =>
        {
            Container(j)["resources"]!["limits"]!["nvidia.com/gpu"] = "2";
            Container(j)["resources"]!["requests"] = new JsonObject { ["nvidia.com/gpu"] = "1" };
        }, "spec.template.spec.containers[0].resources.requests", "Invalid value: \"1\": must be equal to nvidia.com/gpu limit of 2");
        await ExpectInvalid(j => Container(j)["resources"]!["limits"]!["gpu"] = "1", "spec.template.spec.containers[0].resources.limits[gpu]",
            "Invalid value: \"gpu\": must be a standard resource for containers");
        await ExpectCreated(j => Container(j)["resources"]!["limits"]!["nvidia.com/gpu"] = "1");
    }

    [Fact]
    public async Task Restart_policy_must_be_never_or_on_failure()
    {
        await ExpectInvalid(j => PodSpec(j)["restartPolicy"] = "Always", "spec.template.spec.restartPolicy", "Required value: valid values: \"OnFailure\", \"Never\"");
        await ExpectInvalid(j => PodSpec(j)["restartPolicy"] = "Sometimes", "spec.template.spec.restartPolicy", "Unsupported value: \"Sometimes\": supported values: \"OnFailure\", \"Never\"");
        await ExpectCreated(j => PodSpec(j)["restartPolicy"] = "OnFailure");
    }

    [Fact]
    public async Task Pod_failure_policy_rules_are_checked()
    {
        static JsonObject Policy(JsonObject rule) => new() { ["rules"] = new JsonArray(rule) };
        await ExpectInvalid(j =>
        {
            j["spec"]!["podFailurePolicy"] = Policy(new JsonObject { ["action"] = "FailJob", ["onExitCodes"] = new JsonObject { ["operator"] = "In", ["values"] = new JsonArray(42) } });
            PodSpec(j)["restartPolicy"] = "OnFailure";
        }, "spec.template.spec.restartPolicy", "Invalid value: \"OnFailure\": only \"Never\" is supported when podFailurePolicy is specified");
        await ExpectInvalid(j => j["spec"]!["podFailurePolicy"] = Policy(new JsonObject
        {
            ["action"] = "FailJob",
            ["onExitCodes"] = new JsonObject { ["operator"] = "In", ["values"] = new JsonArray(42) },
            ["onPodConditions"] = new JsonArray(new JsonObject { ["type"] = "DisruptionTarget" }),
        }), "spec.podFailurePolicy.rules[0]", "Invalid value: specifying both OnExitCodes and OnPodConditions is not supported");
        await ExpectInvalid(j => j["spec"]!["podFailurePolicy"] = Policy(new JsonObject { ["action"] = "FailJob" }),
            "spec.podFailurePolicy.rules[0]", "Invalid value: specifying one of OnExitCodes and OnPodConditions is required");
        await ExpectInvalid(j => j["spec"]!["podFailurePolicy"] = Policy(new JsonObject { ["action"] = "FailJob", ["onExitCodes"] = new JsonObject { ["operator"] = "In", ["values"] = new JsonArray(2, 1) } }),
            "spec.podFailurePolicy.rules[0].onExitCodes.values", "Invalid value: []int32{2, 1}: must be ordered");
        await ExpectInvalid(j => j["spec"]!["podFailurePolicy"] = Policy(new JsonObject { ["action"] = "FailJob", ["onExitCodes"] = new JsonObject { ["operator"] = "In", ["values"] = new JsonArray(0, 1) } }),
            "spec.podFailurePolicy.rules[0].onExitCodes.values[0]", "Invalid value: 0: must not be 0 for the In operator");
        await ExpectInvalid(j => j["spec"]!["podFailurePolicy"] = Policy(new JsonObject { ["action"] = "FailIndex", ["onExitCodes"] = new JsonObject { ["operator"] = "In", ["values"] = new JsonArray(1) } }),
            "spec.podFailurePolicy.rules[0].action", "Invalid value: \"FailIndex\": requires the backoffLimitPerIndex to be set");

        var ns = await fixture.NewNamespaceAsync();
        var job = JsonNode.Parse(Base)!.AsObject();
        job["spec"]!["podFailurePolicy"] = Policy(new JsonObject
        {
            ["action"] = "Ignore",
            ["onPodConditions"] = new JsonArray(new JsonObject { ["type"] = "DisruptionTarget" }),
        });
        var (status, created, _) = await fixture.SendAsync(HttpMethod.Post, $"/apis/batch/v1/namespaces/{ns}/jobs", job.ToJsonString());
        status.Should().Be(201);
        created["spec"]!["podReplacementPolicy"]!.GetValue<string>().Should().Be("Failed");
        created["spec"]!["podFailurePolicy"]!["rules"]![0]!["onPodConditions"]![0]!["status"]!.GetValue<string>().Should().Be("True");
    }

    [Fact]
    public async Task Indexed_jobs_need_completions_and_hostnames_that_fit()
    {
        await ExpectInvalid(j =>
        {
            j["spec"]!["completionMode"] = "Indexed";
            j["spec"]!["parallelism"] = 2;
        }, "spec.completions", "Required value: when completion mode is Indexed");
        var name = new string('a', 60);
        await ExpectInvalid(j =>
        {
            j["metadata"]!["name"] = name;
            j["spec"]!["completionMode"] = "Indexed";
            j["spec"]!["completions"] = 1000;
        }, "metadata.name", $"Invalid value: \"{name}\": will not able to create pod with invalid DNS label: {name}-999");
        await ExpectInvalid(j => j["spec"]!["backoffLimitPerIndex"] = 1, "spec.backoffLimitPerIndex", "Invalid value: 1: requires indexed completion mode");
        await ExpectCreated(j =>
        {
            j["spec"]!["completionMode"] = "Indexed";
            j["spec"]!["completions"] = 3;
        });
    }

    [Fact]
    public async Task Counts_must_not_be_negative_and_the_pod_deadline_is_at_least_one()
    {
        await ExpectInvalid(j => j["spec"]!["backoffLimit"] = -1, "spec.backoffLimit", "Invalid value: -1: must be greater than or equal to 0");
        await ExpectInvalid(j => PodSpec(j)["activeDeadlineSeconds"] = 0, "spec.template.spec.activeDeadlineSeconds", "Invalid value: 0: must be between 1 and 2147483647, inclusive");
        await ExpectCreated(j => j["spec"]!["activeDeadlineSeconds"] = 0);
    }

    [Fact]
    public async Task Volumes_have_one_source_and_mounts_name_a_volume()
    {
        await ExpectInvalid(j => PodSpec(j)["volumes"] = new JsonArray(new JsonObject { ["name"] = "v", ["emptyDir"] = new JsonObject(), ["hostPath"] = new JsonObject { ["path"] = "/x" } }),
            "spec.template.spec.volumes[0].hostPath", "Forbidden: may not specify more than 1 volume type");
        await ExpectInvalid(j => Container(j)["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "data", ["mountPath"] = "/data" }),
            "spec.template.spec.containers[0].volumeMounts[0].name", "Not found: \"data\"");
        await ExpectInvalid(j => PodSpec(j)["volumes"] = new JsonArray(new JsonObject { ["name"] = "v", ["emptyDir"] = new JsonObject { ["sizeLimit"] = "-1Gi" } }),
            "spec.template.spec.volumes[0].emptyDir.sizeLimit", "Forbidden: SizeLimit field must be a valid resource quantity");
        await ExpectCreated(j =>
        {
            PodSpec(j)["volumes"] = new JsonArray(new JsonObject { ["name"] = "data", ["emptyDir"] = new JsonObject { ["sizeLimit"] = "1Gi" } });
            Container(j)["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "data", ["mountPath"] = "/data" });
        });
    }

    [Fact]
    public async Task Tolerations_are_checked()
    {
        await ExpectInvalid(j => PodSpec(j)["tolerations"] = new JsonArray(new JsonObject { ["operator"] = "Equal", ["value"] = "x" }),
            "spec.template.spec.tolerations[0].operator", "Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"");
        await ExpectInvalid(j => PodSpec(j)["tolerations"] = new JsonArray(new JsonObject { ["key"] = "gpu", ["operator"] = "Exists", ["tolerationSeconds"] = 5 }),
            "spec.template.spec.tolerations[0].effect", "Invalid value: \"\": effect must be 'NoExecute' when `tolerationSeconds` is set");
        await ExpectCreated(j => PodSpec(j)["tolerations"] = new JsonArray(new JsonObject { ["key"] = "nvidia.com/gpu", ["operator"] = "Exists", ["effect"] = "NoSchedule" }));
    }

    [Fact]
    public async Task A_selector_without_manualSelector_is_rejected()
    {
        var (status, body) = await PostAsync(j => j["spec"]!["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "x" } });
        status.Should().Be(422);
        var cause = body["details"]!["causes"]!.AsArray().Single(c => c!["field"]!.GetValue<string>() == "spec.selector")!;
        cause["message"]!.GetValue<string>().Should().StartWith("Invalid value: &v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"x\", \"batch.kubernetes.io/controller-uid\":")
            .And.EndWith("`selector` not auto-generated");
    }
}
