namespace VisionPlatform.Training;

/// <summary>The rules that tie a job's <see cref="TrainingDistribution"/> to its GPUs, framework and launcher.</summary>
internal static class DistributionRules
{
    /// <summary>
    /// Variables the launchers set for every process of a group (torchrun's options and its workers' environment, the
    /// Kubernetes group supervisor's VP_GROUP_* settings, the Indexed Job's completion index, ultralytics' device list); a distributed job may not set them itself, because a
    /// wrong value makes the group wait for peers that never come (pytorch#52848).
    /// </summary>
    private static readonly HashSet<string> LauncherVariables = new(StringComparer.Ordinal)
    {
        "MASTER_ADDR", "MASTER_PORT", "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK",
        "GROUP_WORLD_SIZE", "ROLE_RANK", "ROLE_WORLD_SIZE", "ROLE_NAME", "NODE_RANK", "JOB_COMPLETION_INDEX", "DEVICE",
        "VP_GROUP_CONTROL_PORT", "VP_GROUP_STOP_SECONDS",
    };

    private static readonly string[] LauncherVariablePrefixes = ["PET_", "TORCHELASTIC_"];

    public static int ProcessesPerNode(TrainingDistribution? distribution, TrainingResources resources) =>
        distribution is null ? 1 : distribution.ProcessesPerNode ?? Math.Max(resources.Gpus, 1);

    public static TrainingLauncher Launcher(TrainingFramework framework, int worldSize) =>
        worldSize <= 1 ? TrainingLauncher.Direct
        : framework == TrainingFramework.Ultralytics ? TrainingLauncher.UltralyticsDevices
        : TrainingLauncher.TorchRun;

    public static void Validate(List<TrainingValidationError> e, TrainingDistribution? distribution, TrainingResources? resources, TrainingFramework framework)
    {
        if (distribution is null)
        {
            return;
        }

        var gpus = (resources ?? TrainingResources.None).Gpus;
        var nodes = distribution.Nodes;
        if (nodes is < 1 or > TrainingDistribution.MaxNodes)
        {
            e.Add(new("Distribution.Nodes", Text(nodes), $"must be between 1 and {TrainingDistribution.MaxNodes}"));
        }

        if (distribution.ProcessesPerNode is { } ppn)
        {
            if (ppn is < 1 or > TrainingDistribution.MaxProcessesPerNode)
            {
                e.Add(new("Distribution.ProcessesPerNode", Text(ppn), $"must be between 1 and {TrainingDistribution.MaxProcessesPerNode}"));
            }
            else if (gpus > 0 && ppn > gpus)
            {
                e.Add(new("Distribution.ProcessesPerNode", Text(ppn), $"must be at most Resources.Gpus ({gpus}), the GPUs per node: each process of a GPU job gets a GPU of its own"));
            }
        }

        if (framework != TrainingFramework.Ultralytics)
        {
            return;
        }

        // Ultralytics starts its DDP workers itself from a device list (device="0,1,..."), one worker per listed GPU.
        if (nodes > 1)
        {
            e.Add(new("Distribution.Nodes", Text(nodes), "must be 1 for ultralytics: it starts its own DDP workers from a device list on one node and does not support several nodes"));
        }

        var processes = ProcessesPerNode(distribution, resources ?? TrainingResources.None);
        if (processes > 1 && processes != gpus)
        {
            e.Add(new("Distribution.ProcessesPerNode", Text(processes), gpus == 0
                ? "must be 1 for a CPU-only ultralytics job: ultralytics runs several processes only on GPUs (set Resources.Gpus)"
                : $"must equal Resources.Gpus ({gpus}) for ultralytics: it starts one DDP worker per GPU in its device list"));
        }
    }

    /// <summary>Why a distributed job may not set <paramref name="name"/>, or <see langword="null"/>.</summary>
    public static string? LauncherVariableRule(string name, TrainingDistribution? distribution, TrainingResources? resources, TrainingFramework framework)
    {
        if (distribution is null || distribution.Nodes * ProcessesPerNode(distribution, resources ?? TrainingResources.None) <= 1)
        {
            return null;
        }

        var launcher = Launcher(framework, 2) == TrainingLauncher.TorchRun ? "torchrun" : "ultralytics";
        var isLauncherVariable = LauncherVariables.Contains(name);
        foreach (var prefix in LauncherVariablePrefixes)
        {
            isLauncherVariable |= name.StartsWith(prefix, StringComparison.Ordinal);
        }

        return isLauncherVariable
            ? $"is set by the executor and the launcher ({launcher}) for every process of a distributed job; a job may not set it"
            : null;
    }

    private static string Text(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
