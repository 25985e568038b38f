using k8s;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.EndToEnd;

/// <summary>How an Indexed group ends (successPolicy, FailJob) and what goes with its Job (the owned Service).</summary>
public class GroupPolicyTests
{
    // index 0 exits with EXIT_0 at once; every other index sleeps until it is terminated
    private const string RankProgram = """
        import os, sys, time
        if os.environ["JOB_COMPLETION_INDEX"] == "0":
            sys.exit(int(os.environ.get("EXIT_0", "0")))
        time.sleep(600)
        """;

    private static Task<WorkloadCluster> StartAsync(Action<KubernetesTestClusterOptions>? configure = null) =>
        WorkloadCluster.StartAsync(o =>
        {
            o.Workloads.Images[GroupCluster.PythonImage] = ImageMapping.Passthrough;
            configure?.Invoke(o);
        });

    [Fact]
    public async Task A_success_policy_on_index_0_completes_the_group_and_terminates_the_other_ranks_without_counting_them_failed()
    {
        await using var env = await StartAsync();
        await env.CreateAsync(GroupCluster.IndexedJob("sp", 3, subdomain: null, [GroupCluster.Python, "-c", RankProgram, "sp-marker"], configure: s =>
            s.SuccessPolicy = new V1SuccessPolicy { Rules = [new V1SuccessPolicyRule { SucceededIndexes = "0" }] }));

        var job = await env.WaitForJobAsync("sp", j => j.Status?.Conditions?.Any(c => c.Type == "Complete") == true);

        job.Status.Conditions.Select(c => (c.Type, c.Reason, c.Message)).Should().Equal(
            ("SuccessCriteriaMet", "SuccessPolicy", "Matched rules at index 0"),
            ("Complete", "SuccessPolicy", "Matched rules at index 0"));
        job.Status.CompletedIndexes.Should().Be("0");
        job.Status.Succeeded.Should().Be(1);
        job.Status.Failed.Should().BeNull();
        job.Status.Active.Should().BeNull();
        job.Status.CompletionTime.Should().NotBeNull();
        env.ProcessRunningWith("sp-marker").Should().BeFalse("the remaining ranks were terminated before Complete");
    }

    [Fact]
    public async Task A_success_count_rule_counts_only_its_indexes()
    {
        await using var env = await StartAsync();
        // indexes 1 and 2 succeed at once, index 0 runs until it is terminated
        var program = "import os, sys, time\nif os.environ['JOB_COMPLETION_INDEX'] == '0':\n    time.sleep(600)";
        await env.CreateAsync(GroupCluster.IndexedJob("count", 3, subdomain: null, [GroupCluster.Python, "-c", program, "count-marker"], configure: s =>
            s.SuccessPolicy = new V1SuccessPolicy
            {
                Rules =
                [
                    new V1SuccessPolicyRule { SucceededIndexes = "0", SucceededCount = 1 },
                    new V1SuccessPolicyRule { SucceededIndexes = "0-2", SucceededCount = 2 },
                ],
            }));

        var job = await env.WaitForJobAsync("count", j => j.Status?.Conditions?.Any(c => c.Type == "Complete") == true);

        job.Status.Conditions.Select(c => (c.Type, c.Reason, c.Message)).Should().Equal(
            ("SuccessCriteriaMet", "SuccessPolicy", "Matched rules at index 1"),
            ("Complete", "SuccessPolicy", "Matched rules at index 1"));
        job.Status.CompletedIndexes.Should().Be("1-2");
        job.Status.Failed.Should().BeNull();
        env.ProcessRunningWith("count-marker").Should().BeFalse();
    }

    [Fact]
    public async Task A_fail_job_rule_fails_the_group_at_once_and_terminates_every_other_rank()
    {
        await using var env = await StartAsync();
        await env.CreateAsync(GroupCluster.IndexedJob("fj", 3, subdomain: null, [GroupCluster.Python, "-c", RankProgram, "fj-marker"],
            env: new Dictionary<string, string> { ["EXIT_0"] = "3" }, configure: s =>
            {
                s.BackoffLimit = 6;
                s.PodReplacementPolicy = "Failed";
                s.PodFailurePolicy = new V1PodFailurePolicy
                {
                    Rules =
                    [
                        new V1PodFailurePolicyRule { Action = "Ignore", OnPodConditions = [new V1PodFailurePolicyOnPodConditionsPattern { Type = "DisruptionTarget", Status = "True" }] },
                        new V1PodFailurePolicyRule
                        {
                            Action = "FailJob",
                            OnExitCodes = new V1PodFailurePolicyOnExitCodesRequirement { ContainerName = "trainer", OperatorProperty = "NotIn", Values = [0] },
                        },
                    ],
                };
            }));

        var job = await env.WaitForJobAsync("fj", j => j.Status?.Conditions?.Any(c => c.Type == "Failed") == true);

        var target = job.Status.Conditions.Single(c => c.Type == "FailureTarget");
        target.Reason.Should().Be("PodFailurePolicy");
        target.Message.Should().MatchRegex("^Container trainer for pod ml/fj-0-[a-z0-9]{5} failed with exit code 3 matching FailJob rule at index 1$");
        job.Status.Conditions.Single(c => c.Type == "Failed").Reason.Should().Be("PodFailurePolicy");
        job.Status.Active.Should().BeNull();
        job.Status.Terminating.Should().Be(0);
        env.ProcessRunningWith("fj-marker").Should().BeFalse("no rank is left waiting for a peer that is gone");
        (await env.PodsOfAsync("fj")).Should().OnlyContain(p => p.Status.Phase == "Failed");
    }

    [Fact]
    public async Task A_fail_index_rule_fails_that_index_without_retries_and_max_failed_indexes_fails_the_group()
    {
        await using var env = await StartAsync();
        // index 1 exits 3 at once; indexes 0 and 2 sleep until terminated
        var program = "import os, sys, time\nif os.environ['JOB_COMPLETION_INDEX'] == '1':\n    sys.exit(3)\ntime.sleep(600)";
        await env.CreateAsync(GroupCluster.IndexedJob("fi", 3, subdomain: null, [GroupCluster.Python, "-c", program, "fi-marker"], configure: s =>
        {
            s.BackoffLimit = null;
            s.BackoffLimitPerIndex = 2;
            s.MaxFailedIndexes = 0;
            s.PodFailurePolicy = new V1PodFailurePolicy
            {
                Rules =
                [
                    new V1PodFailurePolicyRule
                    {
                        Action = "FailIndex",
                        OnExitCodes = new V1PodFailurePolicyOnExitCodesRequirement { ContainerName = "trainer", OperatorProperty = "In", Values = [3] },
                    },
                ],
            };
        }));

        var job = await env.WaitForJobAsync("fi", j => j.Status?.Conditions?.Any(c => c.Type == "Failed") == true);

        job.Status.Conditions.Single(c => c.Type == "Failed").Reason.Should().Be("MaxFailedIndexesExceeded");
        job.Status.FailedIndexes.Should().Be("1");
        job.Spec.PodReplacementPolicy.Should().Be("Failed", "the apiserver defaults it when a podFailurePolicy is set");
        var pods = await env.PodsOfAsync("fi");
        pods.Count(p => p.Metadata.Labels["batch.kubernetes.io/job-completion-index"] == "1").Should().Be(1, "FailIndex does not retry the index");
        env.ProcessRunningWith("fi-marker").Should().BeFalse();
    }

    [Theory]
    [InlineData("Failed")]
    [InlineData("TerminatingOrFailed")]
    public async Task Pod_replacement_policy_decides_whether_a_rank_is_replaced_while_the_old_one_still_terminates(string policy)
    {
        await using var env = await StartAsync();
        var directory = Directory.CreateTempSubdirectory("replacement-");
        try
        {
            var gate = Path.Combine(directory.FullName, "gate");
            // on SIGTERM the rank waits for the test's gate before it exits
            var program = "import os, signal, sys, time\n"
                + "def stop(*_):\n    while not os.path.exists(os.environ['GATE']):\n        time.sleep(0.05)\n    sys.exit(143)\n"
                + "signal.signal(signal.SIGTERM, stop)\nprint('started', flush=True)\ntime.sleep(600)";
            await env.CreateAsync(GroupCluster.IndexedJob("rp", 1, subdomain: null, [GroupCluster.Python, "-c", program, "rp-marker"],
                env: new Dictionary<string, string> { ["GATE"] = gate }, configure: s =>
                {
                    s.BackoffLimit = 3;
                    s.PodReplacementPolicy = policy;
                    s.Template.Spec.TerminationGracePeriodSeconds = 120;
                }));
            var first = await env.WaitForPodAsync("rp", p => p.Status?.Phase == "Running");
            await env.WaitUntilAsync(async () => (await env.ReadLogAsync(first.Metadata.Name)).Contains("started", StringComparison.Ordinal), "the rank installed its SIGTERM handler");

            await env.Client.CoreV1.DeleteNamespacedPodAsync(first.Metadata.Name, WorkloadCluster.Namespace);
            await env.WaitForJobAsync("rp", j => j.Status?.Terminating == 1);

            if (policy == "TerminatingOrFailed")
            {
                // the replacement comes while the old rank is still terminating (two pods run one index)
                var replacement = await env.WaitForPodAsync("rp", p => p.Metadata.Uid != first.Metadata.Uid);
                var old = (await env.PodsOfAsync("rp")).Single(p => p.Metadata.Uid == first.Metadata.Uid);
                old.Metadata.DeletionTimestamp.Should().NotBeNull();
                old.Status.Phase.Should().Be("Running");
                replacement.Metadata.Labels["batch.kubernetes.io/job-completion-index"].Should().Be("0");
                await File.WriteAllTextAsync(gate, "");
            }
            else
            {
                // while the old rank terminates (it waits for the gate) the Job has no second pod for the index
                var job = await env.Client.BatchV1.ReadNamespacedJobAsync("rp", WorkloadCluster.Namespace);
                job.Status.Active.Should().BeNull();
                (await env.PodsOfAsync("rp")).Should().ContainSingle(p => p.Metadata.Uid == first.Metadata.Uid);
                await File.WriteAllTextAsync(gate, "");
                var replacement = await env.WaitForPodAsync("rp", p => p.Metadata.Uid != first.Metadata.Uid);
                replacement.Metadata.Labels["batch.kubernetes.io/job-completion-index"].Should().Be("0");
                var old = (await env.PodsOfAsync("rp")).SingleOrDefault(p => p.Metadata.Uid == first.Metadata.Uid);
                (old is null || old.Status.Phase == "Failed").Should().BeTrue("the replacement came only after the old rank had failed");
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_service_owned_by_the_job_and_its_endpoint_slice_are_collected_with_the_job()
    {
        await using var env = await StartAsync();
        var created = await env.CreateAsync(GroupCluster.IndexedJob("owned", 2, "owned", [GroupCluster.Python, "-c", RankProgram, "owned-marker"],
            env: new Dictionary<string, string> { ["EXIT_0"] = "0" }));
        var service = GroupCluster.HeadlessService("owned", "owned", publishNotReadyAddresses: true);
        service.Metadata.OwnerReferences =
        [
            new V1OwnerReference { ApiVersion = "batch/v1", Kind = "Job", Name = "owned", Uid = created.Metadata.Uid, Controller = true, BlockOwnerDeletion = true },
        ];
        await env.Client.CoreV1.CreateNamespacedServiceAsync(service, WorkloadCluster.Namespace);
        await env.WaitUntilAsync(
            async () => (await env.Client.DiscoveryV1.ListNamespacedEndpointSliceAsync(WorkloadCluster.Namespace, labelSelector: "kubernetes.io/service-name=owned")).Items
                .SingleOrDefault()?.Endpoints?.Any(e => e.Hostname == "owned-1") == true,
            "the running rank is an endpoint with its hostname");

        await env.Client.BatchV1.DeleteNamespacedJobAsync("owned", WorkloadCluster.Namespace, propagationPolicy: "Background");

        await env.WaitUntilAsync(async () => (await env.Client.CoreV1.ListNamespacedServiceAsync(WorkloadCluster.Namespace)).Items.Count == 0, "the Service went with its Job");
        await env.WaitUntilAsync(async () => (await env.Client.DiscoveryV1.ListNamespacedEndpointSliceAsync(WorkloadCluster.Namespace)).Items.Count == 0, "the EndpointSlice went with its Service");
        await env.WaitUntilAsync(() => Task.FromResult(!env.ProcessRunningWith("owned-marker")), "the ranks are gone");
    }

    [Fact]
    public async Task Where_pod_namespaces_are_not_permitted_a_pod_with_a_subdomain_fails_to_start_saying_what_is_needed()
    {
        await using var env = await StartAsync(o => o.Workloads.PodNamespaces = false);
        await env.CreateAsync(GroupCluster.IndexedJob("nons", 1, "nons", [GroupCluster.Python, "-c", "print('ran')"]));

        var job = await env.WaitForJobAsync("nons", j => j.Status?.Conditions?.Any(c => c.Type == "Failed") == true);

        job.Status.Conditions.Single(c => c.Type == "Failed").Reason.Should().Be("BackoffLimitExceeded");
        var terminated = (await env.PodsOfAsync("nons")).Single().Status.ContainerStatuses.Single().State.Terminated;
        terminated.Reason.Should().Be("StartError");
        terminated.ExitCode.Should().Be(128);
        terminated.Message.Should().Be(
            "pod hostname/subdomain needs a private UTS and mount namespace per pod: `/usr/bin/unshare --mount --uts` is not permitted here "
            + "(disabled by WorkloadOptions.PodNamespaces = false); run the test cluster as root (or with CAP_SYS_ADMIN) with util-linux unshare and /usr/bin/python3");
        terminated.Message.Should().NotContain("\n");
    }

    [Theory]
    [InlineData(true, "solo")]
    [InlineData(false, null)]
    public async Task A_pod_with_only_a_hostname_sees_it_as_its_hostname_when_namespaces_are_permitted_and_runs_regardless(bool permitted, string? expectedHostname)
    {
        await using var env = await StartAsync(o => o.Workloads.PodNamespaces = permitted);
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "solo-pod" },
            Spec = new V1PodSpec
            {
                Hostname = "solo",
                RestartPolicy = "Never",
                Containers = [new V1Container { Name = "trainer", Image = GroupCluster.PythonImage, Command = [GroupCluster.Python, "-c", "import os, socket; print(os.environ['HOSTNAME'], socket.gethostname())"] }],
            },
        };
        await env.Client.CoreV1.CreateNamespacedPodAsync(pod, WorkloadCluster.Namespace);

        await env.WaitUntilAsync(async () => (await env.Client.CoreV1.ReadNamespacedPodAsync("solo-pod", WorkloadCluster.Namespace)).Status.Phase == "Succeeded", "the pod ran");

        var words = (await env.ReadLogAsync("solo-pod")).Trim().Split(' ');
        words[0].Should().Be("solo");
        if (expectedHostname is not null)
        {
            words[1].Should().Be(expectedHostname);
        }
        else
        {
            words[1].Should().Be(System.Net.Dns.GetHostName(), "without namespaces the process sees the machine's hostname");
        }
    }
}
