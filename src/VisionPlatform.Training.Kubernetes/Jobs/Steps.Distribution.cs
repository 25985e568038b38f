using System.Globalization;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The launcher of a distributed job. torchrun (<see cref="TrainingLauncher.TorchRun"/>): an Indexed Job of one pod per
/// node whose trainer command runs under <c>python -m torch.distributed.run</c>, configured through torchrun's documented
/// <c>PET_*</c> variables, one failure policy for the whole group, success when rank 0's pod succeeds, and the pods'
/// <c>subdomain</c> set to the headless Service (<see cref="GroupService"/>) that makes <c>&lt;job&gt;-0.&lt;service&gt;</c>
/// resolve. Ultralytics (<see cref="TrainingLauncher.UltralyticsDevices"/>): one pod, <c>DEVICE=0,..,M-1</c>. A job of one
/// process (<see cref="TrainingLauncher.Direct"/>) is left exactly as the other steps made it.
/// </summary>
internal sealed class DistributionStep : IJobBuildStep
{
    /// <summary>The label and annotation the Job controller puts on each pod of an Indexed Job: its completion index.</summary>
    public const string CompletionIndexKey = "batch.kubernetes.io/job-completion-index";

    /// <summary>torchrun's module, run by the image's Python (torch 1.13 has no <c>torchrun</c> script in every image).</summary>
    public const string TorchRunModule = "torch.distributed.run";

    /// <summary>
    /// The exit code of a pod whose group supervisor restarts the whole group (EX_TEMPFAIL): the podFailurePolicy ignores
    /// it, so the Job controller replaces the pod without using the failure budget.
    /// </summary>
    public const int GroupRestartExitCode = 75;

    /// <summary>The group supervisor's program (Jobs/group_supervisor.py), run as <c>python -c &lt;program&gt; -- &lt;torchrun command&gt;</c>.</summary>
    public static string GroupSupervisorProgram { get; } = ReadGroupSupervisor();

    /// <summary>Whether the job runs as a torchrun group (an Indexed Job with a headless Service).</summary>
    public static bool IsGroup(TrainingJobConfig config) => config.Launcher == TrainingLauncher.TorchRun;

    /// <summary>All of it is the job's: templates (no job) get nothing.</summary>
    public void ApplyJobParts(JobBuildContext context, JobTemplate template) => Apply(context);

    public void Apply(JobBuildContext context)
    {
        switch (context.JobConfig?.Launcher)
        {
            case TrainingLauncher.TorchRun:
                ApplyTorchRun(context, context.JobConfig);
                break;
            case TrainingLauncher.UltralyticsDevices:
                // Ultralytics launches its own DDP from a device list: one process, every GPU of the pod, indices
                // within what the device plugin made visible. YOLO_CONFIG_DIR (where it writes its DDP temp file)
                // already points into the writable /cache emptyDir.
                var devices = string.Join(',', Enumerable.Range(0, context.JobConfig.ProcessesPerNode).Select(i => i.ToString(CultureInfo.InvariantCulture)));
                AddEnvironment(context, [new V1EnvVar { Name = "DEVICE", Value = devices }]);
                break;
        }
    }

    private static void ApplyTorchRun(JobBuildContext context, TrainingJobConfig config)
    {
        var spec = context.Job.Spec;
        var name = context.Job.Metadata.Name;
        spec.CompletionMode = "Indexed";
        spec.Completions = config.Nodes;
        spec.Parallelism = config.Nodes;

        // Retries of the group happen inside the pods (torchrun restarts every worker, which resumes from rank 0's
        // checkpoint): a rank's pod that fails has used them up, so it fails the Job and the controller removes the
        // peers at once. The Job never replaces one rank on its own, which would rejoin a group that no longer exists:
        // with more than one node, a disrupted pod makes every pod of the group leave with GroupRestartExitCode (the
        // group supervisor), all of them are replaced, and the new group resumes from the run's newest checkpoint.
        spec.BackoffLimit = 0;
        spec.PodReplacementPolicy = "Failed";
        spec.SuccessPolicy = new V1SuccessPolicy { Rules = [new V1SuccessPolicyRule { SucceededIndexes = "0" }] };
        var supervised = config.Nodes > 1;
        spec.PodFailurePolicy = new V1PodFailurePolicy { Rules = FailureRules(context.Options.Job, supervised) };
        context.Pod.Subdomain = GroupService.NameFor(name);

        var command = context.Container.Command;
        if (command is not { Count: > 0 } || !IsPython(command[0]))
        {
            context.Problems.Add(new("Command", string.Join(' ', command ?? []),
                $"must start with the Python interpreter (for example 'python train.py') for a distributed job: the executor runs the trainer as 'python -m {TorchRunModule} <script> <arguments>'"));
        }
        else if (supervised)
        {
            // More than one node: the group supervisor runs in front of torchrun (a constant program; every value
            // reaches it through the environment), so a disruption of any pod restarts the whole group.
            context.Container.Command = [command[0], "-c", GroupSupervisorProgram, "--", command[0], "-m", TorchRunModule, .. command.Skip(1)];
        }
        else
        {
            context.Container.Command = [command[0], "-m", TorchRunModule, .. command.Skip(1)];
        }

        var port = context.Options.Job.RendezvousPort.ToString(CultureInfo.InvariantCulture);
        AddEnvironment(context,
        [
            new V1EnvVar { Name = "PET_NNODES", Value = config.Nodes.ToString(CultureInfo.InvariantCulture) },
            new V1EnvVar { Name = "PET_NPROC_PER_NODE", Value = config.ProcessesPerNode.ToString(CultureInfo.InvariantCulture) },
            new V1EnvVar
            {
                Name = "PET_NODE_RANK",
                ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = $"metadata.annotations['{CompletionIndexKey}']" } },
            },
            new V1EnvVar { Name = "PET_MASTER_ADDR", Value = GroupService.RendezvousHost(name) },
            new V1EnvVar { Name = "PET_MASTER_PORT", Value = port },
            new V1EnvVar { Name = "PET_MAX_RESTARTS", Value = context.Options.Job.BackoffLimit.ToString(CultureInfo.InvariantCulture) },

            // torch 1.13 on Python 3.11 crashes with the default redirects/tee of 0; 2 tees each worker's stderr,
            // prefixed with its local rank, to the container's log.
            new V1EnvVar { Name = "PET_REDIRECTS", Value = "2" },
            new V1EnvVar { Name = "PET_TEE", Value = "2" },
        ]);
        if (supervised)
        {
            var grace = context.Options.Job.TerminationGracePeriod.TotalSeconds;
            AddEnvironment(context,
            [
                new V1EnvVar { Name = "VP_GROUP_CONTROL_PORT", Value = context.Options.Job.EffectiveGroupControlPort.ToString(CultureInfo.InvariantCulture) },
                // How long torchrun gets after SIGTERM before the supervisor kills it: three quarters of the grace period,
                // so the notices and the kill fit before the kubelet's own SIGKILL.
                new V1EnvVar { Name = "VP_GROUP_STOP_SECONDS", Value = Math.Round(grace * 0.75, 2).ToString(CultureInfo.InvariantCulture) },
            ]);
        }
    }

    /// <summary>
    /// Disruptions first (a preempted or drained node is not the trainer's fault and never uses the budget), with a
    /// supervised group the pods that leave for its whole-group restart (<see cref="GroupRestartExitCode"/>), then the
    /// bad-input exit codes, then any other non-zero exit of the trainer: each fails the Job at once.
    /// </summary>
    private static List<V1PodFailurePolicyRule> FailureRules(KubernetesJobPolicyOptions policy, bool supervised)
    {
        var rules = new List<V1PodFailurePolicyRule>();
        if (policy.IgnoreDisruptions)
        {
            rules.Add(new V1PodFailurePolicyRule
            {
                Action = "Ignore",
                OnPodConditions = [new V1PodFailurePolicyOnPodConditionsPattern { Type = "DisruptionTarget", Status = "True" }],
            });
            if (supervised)
            {
                rules.Add(new V1PodFailurePolicyRule
                {
                    Action = "Ignore",
                    OnExitCodes = new V1PodFailurePolicyOnExitCodesRequirement { ContainerName = TrainingJobSpecBuilder.ContainerName, OperatorProperty = "In", Values = [GroupRestartExitCode] },
                });
            }
        }

        if (policy.EffectiveFailJobExitCodes is { Count: > 0 } codes)
        {
            rules.Add(ExitCodeRule("In", [.. codes]));
        }

        rules.Add(ExitCodeRule("NotIn", [0]));
        return rules;
    }

    private static V1PodFailurePolicyRule ExitCodeRule(string op, List<int> values) => new()
    {
        Action = "FailJob",
        OnExitCodes = new V1PodFailurePolicyOnExitCodesRequirement { ContainerName = TrainingJobSpecBuilder.ContainerName, OperatorProperty = op, Values = values },
    };

    /// <summary>The launcher's variables after the others, in the order given (they never collide: the job may not set them).</summary>
    private static void AddEnvironment(JobBuildContext context, IEnumerable<V1EnvVar> variables)
    {
        var env = context.Container.Env ?? [];
        foreach (var variable in variables)
        {
            env.Add(variable);
        }

        context.Container.Env = env;
    }

    private static string ReadGroupSupervisor()
    {
        using var stream = typeof(DistributionStep).Assembly.GetManifestResourceStream("VisionPlatform.Training.Kubernetes.group_supervisor.py")
            ?? throw new InvalidOperationException("The group supervisor program is missing from the assembly's resources.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().ReplaceLineEndings("\n");
    }

    private static bool IsPython(string program)
    {
        var name = Path.GetFileName(program);
        return name is "python" or "python3" || (name.StartsWith("python3.", StringComparison.Ordinal) && !name.EndsWith(".py", StringComparison.Ordinal));
    }
}
