namespace VisionPlatform.Training;

/// <summary>How an executor starts a job's training processes (<see cref="TrainingJobConfig.Launcher"/>).</summary>
public enum TrainingLauncher
{
    /// <summary>One trainer process, started directly (a job with a world size of 1).</summary>
    Direct = 0,

    /// <summary>
    /// PyTorch's elastic launcher (<c>python -m torch.distributed.run</c>): one agent per node starts the node's processes
    /// and restarts the whole group when one fails. Used for PyTorch, timm, Hugging Face and custom frameworks.
    /// </summary>
    TorchRun = 1,

    /// <summary>
    /// One trainer process given a device list (<c>DEVICE=0,1,...</c>); ultralytics starts its own DDP workers from it.
    /// One node only: ultralytics does not support several nodes.
    /// </summary>
    UltralyticsDevices = 2,
}
