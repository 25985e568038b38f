using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.Tests;

using ResourceQuantity = k8s.Models.ResourceQuantity;

/// <summary>
/// One change to a valid Job and what the apiserver does with it: <see cref="Field"/> is the path of the expected
/// error, or null when the Job is still accepted. The same cases run against the local validator and, with the
/// test cluster, against its apiserver.
/// </summary>
public sealed record JobValidationCase(string Name, Action<V1Job> Mutate, string? Field)
{
    public override string ToString() => Name;
}

public static class JobValidationCases
{
    private static V1Container Trainer(V1Job job) => job.Spec.Template.Spec.Containers[0];

    private static V1PodFailurePolicyRule ExitRule(V1Job job) => job.Spec.PodFailurePolicy.Rules[0];

    public static IReadOnlyList<JobValidationCase> All { get; } =
    [
        // Accepted variations: the validator must not reject what the apiserver accepts.
        new("valid job as built", _ => { }, null),
        new("generateName instead of name", j => { j.Metadata.Name = null; j.Metadata.GenerateName = "training-job-"; }, null),
        new("OnFailure without a pod failure policy", j => { j.Spec.PodFailurePolicy = null; j.Spec.Template.Spec.RestartPolicy = "OnFailure"; }, null),
        new("job deadline 0 is allowed", j => j.Spec.ActiveDeadlineSeconds = 0, null),
        new("indexed job with completions", j => { j.Spec.CompletionMode = "Indexed"; j.Spec.Completions = 3; }, null),
        new("toleration of every taint", j => j.Spec.Template.Spec.Tolerations = [new V1Toleration { OperatorProperty = "Exists" }], null),
        new("empty label value", j => j.Metadata.Labels["empty"] = string.Empty, null),
        new("NotIn exit codes with 0", j => { ExitRule(j).OnExitCodes.OperatorProperty = "NotIn"; ExitRule(j).OnExitCodes.Values = [0, 1]; }, null),
        new("hugepages with memory", j => { Trainer(j).Resources.Limits["hugepages-2Mi"] = new ResourceQuantity("2Mi"); }, null),
        new("GPU limit equal to request", j => Trainer(j).Resources.Requests["nvidia.com/gpu"] = new ResourceQuantity("1"), null),

        // M1-M9: metadata.
        new("M1 missing name", j => j.Metadata.Name = null, "metadata.name"),
        new("M2 name with upper case", j => j.Metadata.Name = "Training-Job", "metadata.name"),
        new("M3 name longer than 63", j => j.Metadata.Name = new string('a', 64), "metadata.name"),
        new("M4 indexed hostname too long", j => { j.Metadata.Name = new string('a', 62); j.Spec.CompletionMode = "Indexed"; j.Spec.Completions = 10; }, "metadata.name"),
        new("M5 generateName with upper case", j => { j.Metadata.Name = null; j.Metadata.GenerateName = "Train-"; }, "metadata.generateName"),
        new("M6 namespace not a DNS label", j => j.Metadata.NamespaceProperty = "ml_team", "metadata.namespace"),
        new("M7 label key with two slashes", j => j.Metadata.Labels["a/b/c"] = "x", "metadata.labels[a/b/c]"),
        new("M7 label key name too long", j => j.Metadata.Labels[new string('k', 64)] = "x", $"metadata.labels[{new string('k', 64)}]"),
        new("M8 label value with a space", j => j.Metadata.Labels["team"] = "vision team", "metadata.labels[team]"),
        new("M8 label value too long", j => j.Metadata.Labels["team"] = new string('v', 64), "metadata.labels[team]"),
        new("M8 template label value invalid", j => j.Spec.Template.Metadata.Labels["team"] = "-x", "spec.template.metadata.labels[team]"),
        new("M9 annotation key invalid", j => j.Metadata.Annotations["bad key"] = "x", "metadata.annotations[bad key]"),
        new("M9 annotations over 256 KiB", j => j.Metadata.Annotations["big"] = new string('x', 262_145), "metadata.annotations"),

        // J1-J9: job spec.
        new("J1 negative backoffLimit", j => j.Spec.BackoffLimit = -1, "spec.backoffLimit"),
        new("J1 negative activeDeadlineSeconds", j => j.Spec.ActiveDeadlineSeconds = -5, "spec.activeDeadlineSeconds"),
        new("J1 negative ttlSecondsAfterFinished", j => j.Spec.TtlSecondsAfterFinished = -1, "spec.ttlSecondsAfterFinished"),
        new("J1 negative parallelism", j => j.Spec.Parallelism = -1, "spec.parallelism"),
        new("J2 restartPolicy missing", j => j.Spec.Template.Spec.RestartPolicy = null, "spec.template.spec.restartPolicy"),
        new("J2 restartPolicy Always", j => j.Spec.Template.Spec.RestartPolicy = "Always", "spec.template.spec.restartPolicy"),
        new("J2 restartPolicy unknown", j => j.Spec.Template.Spec.RestartPolicy = "Sometimes", "spec.template.spec.restartPolicy"),
        new("J3 pod failure policy with OnFailure", j => j.Spec.Template.Spec.RestartPolicy = "OnFailure", "spec.template.spec.restartPolicy"),
        new("J4 unknown action", j => ExitRule(j).Action = "Retry", "spec.podFailurePolicy.rules[0].action"),
        new("J4 FailIndex without backoffLimitPerIndex", j => ExitRule(j).Action = "FailIndex", "spec.podFailurePolicy.rules[0].action"),
        new("J4 both exit codes and conditions", j => ExitRule(j).OnPodConditions = [new V1PodFailurePolicyOnPodConditionsPattern { Type = "DisruptionTarget", Status = "True" }], "spec.podFailurePolicy.rules[0]"),
        new("J4 neither exit codes nor conditions", j => ExitRule(j).OnExitCodes = null, "spec.podFailurePolicy.rules[0]"),
        new("J4 bad operator", j => ExitRule(j).OnExitCodes.OperatorProperty = "Equals", "spec.podFailurePolicy.rules[0].onExitCodes.operator"),
        new("J4 exit codes not ordered", j => ExitRule(j).OnExitCodes.Values = [3, 2], "spec.podFailurePolicy.rules[0].onExitCodes.values[1]"),
        new("J4 exit code 0 with In", j => ExitRule(j).OnExitCodes.Values = [0, 2], "spec.podFailurePolicy.rules[0].onExitCodes.values[0]"),
        new("J4 duplicate exit codes", j => ExitRule(j).OnExitCodes.Values = [2, 2], "spec.podFailurePolicy.rules[0].onExitCodes.values[1]"),
        new("J4 no exit codes", j => ExitRule(j).OnExitCodes.Values = [], "spec.podFailurePolicy.rules[0].onExitCodes.values"),
        new("J4 unknown container name", j => ExitRule(j).OnExitCodes.ContainerName = "main", "spec.podFailurePolicy.rules[0].onExitCodes.containerName"),
        new("J4 bad condition status", j => j.Spec.PodFailurePolicy.Rules[1].OnPodConditions[0].Status = "Yes", "spec.podFailurePolicy.rules[1].onPodConditions[0].status"),
        new("J4 more than 20 rules", j => j.Spec.PodFailurePolicy.Rules = Enumerable.Range(1, 21).Select(i => new V1PodFailurePolicyRule { Action = "Ignore", OnExitCodes = new() { OperatorProperty = "In", Values = [i] } }).ToList(), "spec.podFailurePolicy.rules"),
        new("J5 podReplacementPolicy with pod failure policy", j => j.Spec.PodReplacementPolicy = "TerminatingOrFailed", "spec.podReplacementPolicy"),
        new("J5 unknown podReplacementPolicy", j => j.Spec.PodReplacementPolicy = "Never", "spec.podReplacementPolicy"),
        new("J6 unknown completionMode", j => j.Spec.CompletionMode = "Parallel", "spec.completionMode"),
        new("J6 Indexed without completions or parallelism (completions defaults to 1)", j => j.Spec.CompletionMode = "Indexed", null),
        new("J6 Indexed with parallelism but without completions", j => { j.Spec.CompletionMode = "Indexed"; j.Spec.Parallelism = 2; }, "spec.completions"),
        new("J6 backoffLimitPerIndex without Indexed", j => j.Spec.BackoffLimitPerIndex = 1, "spec.backoffLimitPerIndex"),
        new("J6 maxFailedIndexes without backoffLimitPerIndex", j => { j.Spec.CompletionMode = "Indexed"; j.Spec.Completions = 3; j.Spec.MaxFailedIndexes = 1; }, "spec.maxFailedIndexes"),
        new("J7 successPolicy on NonIndexed", j => j.Spec.SuccessPolicy = new V1SuccessPolicy { Rules = [new V1SuccessPolicyRule { SucceededCount = 1 }] }, "spec.successPolicy"),
        new("J8 selector without manualSelector", j => j.Spec.Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "training-job" } }, "spec.selector"),
        new("J8 reserved template label", j => j.Spec.Template.Metadata.Labels["job-name"] = "other", "spec.template.metadata.labels[job-name]"),
        new("J9 managedBy without a domain", j => j.Spec.ManagedBy = "controller", "spec.managedBy"),

        // P1-P9: pod template.
        new("P1 no containers", j => j.Spec.Template.Spec.Containers = [], "spec.template.spec.containers"),
        new("P1 container name invalid", j => Trainer(j).Name = "Trainer", "spec.template.spec.containers[0].name"),
        new("P1 duplicate container name", j => j.Spec.Template.Spec.InitContainers = [new V1Container { Name = "trainer", Image = "busybox:1" }], "spec.template.spec.containers[0].name"),
        new("P1 missing image", j => Trainer(j).Image = null, "spec.template.spec.containers[0].image"),
        new("P1 image with surrounding spaces", j => Trainer(j).Image = " trainer:1 ", "spec.template.spec.containers[0].image"),
        new("P1 unknown imagePullPolicy", j => Trainer(j).ImagePullPolicy = "Sometimes", "spec.template.spec.containers[0].imagePullPolicy"),
        new("P2 env name with a space", j => Trainer(j).Env.Add(new V1EnvVar { Name = "MY VAR", Value = "1" }), $"spec.template.spec.containers[0].env[{Trainer(ValidJob()).Env.Count}].name"),
        new("P2 env name starting with a digit", j => Trainer(j).Env.Add(new V1EnvVar { Name = "1VAR", Value = "1" }), $"spec.template.spec.containers[0].env[{Trainer(ValidJob()).Env.Count}].name"),
        new("P2 value and valueFrom together", j => Trainer(j).Env.Single(e => e.Name == "AWS_ACCESS_KEY_ID").Value = "x", $"spec.template.spec.containers[0].env[{EnvIndex("AWS_ACCESS_KEY_ID")}].valueFrom"),
        new("P2 secret key invalid", j => Trainer(j).Env.Single(e => e.Name == "AWS_ACCESS_KEY_ID").ValueFrom.SecretKeyRef.Key = "access key", $"spec.template.spec.containers[0].env[{EnvIndex("AWS_ACCESS_KEY_ID")}].valueFrom.secretKeyRef.key"),
        new("P3 unknown standard resource", j => Trainer(j).Resources.Limits["gpu"] = new ResourceQuantity("1"), "spec.template.spec.containers[0].resources.limits[gpu]"),
        new("P3 kubernetes.io-prefixed resource is native and accepted", j => Trainer(j).Resources.Limits["kubernetes.io/gpu"] = new ResourceQuantity("1"), null),
        new("P3 invalid prefixed resource name", j => Trainer(j).Resources.Limits["nvidia.com/gpu!"] = new ResourceQuantity("1"), "spec.template.spec.containers[0].resources.limits[nvidia.com/gpu!]"),
        new("P4 negative memory", j => Trainer(j).Resources.Limits["memory"] = new ResourceQuantity("-1Gi"), "spec.template.spec.containers[0].resources.limits[memory]"),
        new("P5 cpu request above limit", j => Trainer(j).Resources.Requests["cpu"] = new ResourceQuantity("8"), "spec.template.spec.containers[0].resources.requests"),
        new("P5 memory request above limit", j => Trainer(j).Resources.Requests["memory"] = new ResourceQuantity("64Gi"), "spec.template.spec.containers[0].resources.requests"),
        new("P6a fractional GPU", j => Trainer(j).Resources.Limits["nvidia.com/gpu"] = new ResourceQuantity("500m"), "spec.template.spec.containers[0].resources.limits[nvidia.com/gpu]"),
        new("P6b GPU request without limit", j => { Trainer(j).Resources.Limits.Remove("nvidia.com/gpu"); Trainer(j).Resources.Requests["nvidia.com/gpu"] = new ResourceQuantity("1"); }, "spec.template.spec.containers[0].resources.limits"),
        new("P6c GPU request different from limit", j => Trainer(j).Resources.Requests["nvidia.com/gpu"] = new ResourceQuantity("2"), "spec.template.spec.containers[0].resources.requests[nvidia.com/gpu]"),
        new("P6 hugepages without cpu or memory", j => Trainer(j).Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["hugepages-2Mi"] = new("2Mi") } }, "spec.template.spec.containers[0].resources"),
        new("P7 volume name invalid", j => j.Spec.Template.Spec.Volumes[0].Name = "Work_Space", "spec.template.spec.volumes[0].name"),
        new("P7 duplicate volume name", j => j.Spec.Template.Spec.Volumes[1].Name = "workspace", "spec.template.spec.volumes[1].name"),
        new("P7 volume without a source", j => j.Spec.Template.Spec.Volumes[0].EmptyDir = null, "spec.template.spec.volumes[0]"),
        new("P7 volume with two sources", j => j.Spec.Template.Spec.Volumes[0].ConfigMap = new V1ConfigMapVolumeSource { Name = "x" }, "spec.template.spec.volumes[0]"),
        new("P7 negative emptyDir size", j => j.Spec.Template.Spec.Volumes[1].EmptyDir.SizeLimit = new ResourceQuantity("-1Gi"), "spec.template.spec.volumes[1].emptyDir.sizeLimit"),
        new("P7 mount of an unknown volume", j => Trainer(j).VolumeMounts[0].Name = "nope", "spec.template.spec.containers[0].volumeMounts[0].name"),
        new("P7 mount without a path", j => Trainer(j).VolumeMounts[0].MountPath = null, "spec.template.spec.containers[0].volumeMounts[0].mountPath"),
        new("P8 toleration key invalid", j => j.Spec.Template.Spec.Tolerations[0].Key = "nvidia.com/gpu!", "spec.template.spec.tolerations[0].key"),
        new("P8 empty key with Equal", j => { j.Spec.Template.Spec.Tolerations[0].Key = null; j.Spec.Template.Spec.Tolerations[0].OperatorProperty = "Equal"; }, "spec.template.spec.tolerations[0].operator"),
        new("P8 Exists with a value", j => j.Spec.Template.Spec.Tolerations[0].Value = "present", "spec.template.spec.tolerations[0].operator"),
        new("P8 unknown operator", j => j.Spec.Template.Spec.Tolerations[0].OperatorProperty = "Lt", "spec.template.spec.tolerations[0].operator"),
        new("P8 unknown effect", j => j.Spec.Template.Spec.Tolerations[0].Effect = "NoRun", "spec.template.spec.tolerations[0].effect"),
        new("P8 tolerationSeconds without NoExecute", j => j.Spec.Template.Spec.Tolerations[0].TolerationSeconds = 60, "spec.template.spec.tolerations[0].effect"),
        new("P9 pod deadline 0", j => j.Spec.Template.Spec.ActiveDeadlineSeconds = 0, "spec.template.spec.activeDeadlineSeconds"),
        new("P9 negative grace period", j => j.Spec.Template.Spec.TerminationGracePeriodSeconds = -1, "spec.template.spec.terminationGracePeriodSeconds"),
        new("P9 service account invalid", j => j.Spec.Template.Spec.ServiceAccountName = "Trainer_SA", "spec.template.spec.serviceAccountName"),
        new("P9 priority class invalid", j => j.Spec.Template.Spec.PriorityClassName = "High Priority", "spec.template.spec.priorityClassName"),
        new("P9 hostname invalid", j => j.Spec.Template.Spec.Hostname = "host.name", "spec.template.spec.hostname"),
        new("P9 node selector value invalid", j => j.Spec.Template.Spec.NodeSelector["accelerator"] = "nvidia gpu", "spec.template.spec.nodeSelector[accelerator]"),
        new("P9 ephemeral containers", j => j.Spec.Template.Spec.EphemeralContainers = [new V1EphemeralContainer { Name = "debug", Image = "busybox:1" }], "spec.template.spec.ephemeralContainers"),
    ];

    /// <summary>A valid 1-GPU Job from the builder (with tolerations and a node selector, so every rule has a target).</summary>
    public static V1Job ValidJob() => Jobs.ValidJob(gpus: 1);

    private static int EnvIndex(string name) => Trainer(ValidJob()).Env.ToList().FindIndex(e => e.Name == name);
}
