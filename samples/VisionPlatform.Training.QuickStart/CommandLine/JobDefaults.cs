namespace VisionPlatform.Training.QuickStart.CommandLine;

/// <summary>
/// The job fields a flag leaves unset, per framework: the demo's YOLO job, or for <c>pytorch</c> what the real PyTorch
/// trainer (samples/trainer/train_torch.py) trains: its small CNN on the synthetic images it generates itself.
/// </summary>
internal sealed record JobDefaults(string ModelName, string TaskType, string DatasetPath, string DatasetFormat)
{
    private static readonly JobDefaults Demo = new("yolo11n", "object_detection", "coco8", "yolo");
    private static readonly JobDefaults PyTorch = new("tiny_cnn", "classification", "synthetic", "generated");

    public static JobDefaults For(string framework) =>
        string.Equals(framework, TrainingFramework.PyTorch.Value, StringComparison.Ordinal) ? PyTorch : Demo;
}
