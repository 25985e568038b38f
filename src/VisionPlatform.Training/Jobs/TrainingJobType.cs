namespace VisionPlatform.Training;

/// <summary>What a job does. All types run through the same machinery and trainer contract.</summary>
public enum TrainingJobType
{
    /// <summary>Train (or fine-tune) a model.</summary>
    Training = 0,

    /// <summary>Evaluate a trained model on a dataset.</summary>
    Evaluation = 1,

    /// <summary>Run inference over a dataset.</summary>
    Inference = 2,

    /// <summary>Export a trained model to another format (ONNX, TensorRT, ...).</summary>
    Export = 3,
}
