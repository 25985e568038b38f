using System.Globalization;

namespace VisionPlatform.Training.Subprocess.Launch;

/// <summary>
/// How a job's trainer command line becomes its launcher's on one host (<see cref="TrainingJobConfig.Launcher"/>):
/// <list type="bullet">
/// <item><description><see cref="TrainingLauncher.Direct"/>: <c>&lt;script&gt; &lt;trainer arguments&gt;</c>, unchanged.</description></item>
/// <item><description><see cref="TrainingLauncher.TorchRun"/>: <c>-m torch.distributed.run &lt;options&gt; &lt;script&gt; &lt;trainer arguments&gt;</c>, run by the framework's interpreter.</description></item>
/// <item><description><see cref="TrainingLauncher.UltralyticsDevices"/>: the direct command, plus <c>DEVICE=0,...,M-1</c> in the environment.</description></item>
/// </list>
/// </summary>
internal static class DistributedLaunch
{
    /// <summary>Where torchrun's rendezvous listens: the loopback interface, a free port the agent picks itself.</summary>
    public const string RendezvousEndpoint = "127.0.0.1:0";

    /// <summary>
    /// The arguments after the interpreter. torchrun's options, as this torch (1.13) needs them (docs/reference-trainers.md):
    /// <c>-r 2 -t 2</c> because the default of 0 crashes on Python 3.11, and with them every worker's stderr reaches the
    /// run's log prefixed <c>[default&lt;local rank&gt;]:</c>; a c10d rendezvous on a free loopback port with an id of its own,
    /// because <c>--standalone</c> always takes port 29400 and two runs on one host would collide; <c>--log_dir</c> inside
    /// the run directory, because without it torchrun leaves a <c>/tmp/torchelastic_*</c> directory behind per run.
    /// </summary>
    /// <param name="config">The job.</param>
    /// <param name="script">The absolute path of the trainer script.</param>
    /// <param name="trainerArguments">The trainer contract's arguments.</param>
    /// <param name="maxRestarts">Whole-group restarts (<c>Training:Subprocess:Distributed:MaxRestarts</c>).</param>
    /// <param name="logDirectory">torchrun's log directory, inside the run directory.</param>
    /// <param name="rendezvousId">The rendezvous id, unique per run.</param>
    public static List<string> Arguments(TrainingJobConfig config, string script, IReadOnlyList<string> trainerArguments, int maxRestarts, string logDirectory, string rendezvousId)
    {
        var arguments = new List<string>(trainerArguments.Count + 24);
        if (config.Launcher == TrainingLauncher.TorchRun)
        {
            arguments.AddRange([
                "-m", "torch.distributed.run",
                "-r", "2",
                "-t", "2",
                "--rdzv_backend", "c10d",
                "--rdzv_endpoint", RendezvousEndpoint,
                "--rdzv_id", rendezvousId,
                "--nnodes", "1",
                "--nproc_per_node", Text(config.ProcessesPerNode),
                "--max_restarts", Text(maxRestarts),
                "--log_dir", logDirectory,
            ]);
        }

        arguments.Add(script);
        arguments.AddRange(trainerArguments);
        return arguments;
    }

    /// <summary>The launcher's environment: ultralytics' device list (indices within <c>CUDA_VISIBLE_DEVICES</c>), else none.</summary>
    /// <param name="config">The job.</param>
    public static IEnumerable<KeyValuePair<string, string>> Environment(TrainingJobConfig config) =>
        config.Launcher == TrainingLauncher.UltralyticsDevices
            ? [new("DEVICE", string.Join(',', Enumerable.Range(0, config.ProcessesPerNode).Select(Text)))]
            : [];

    /// <summary>
    /// Why this host cannot run the job, or <see langword="null"/>: a job of several nodes (this executor runs a job on
    /// one host, and running its ranks here would silently change the world size the job asked for).
    /// </summary>
    /// <param name="config">The job.</param>
    public static string? Refusal(TrainingJobConfig config) =>
        config.Nodes > 1
            ? $"Distribution.Nodes is {Text(config.Nodes)}: the subprocess executor runs a job on one host, so Distribution.Nodes must be 1; run a multi-node job on the Kubernetes executor"
            : null;

    /// <summary>A new rendezvous id (random: torchrun also names its log directory after it).</summary>
    public static string NewRendezvousId() => "vp-" + Guid.NewGuid().ToString("N")[..16];

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
