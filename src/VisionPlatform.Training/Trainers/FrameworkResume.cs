using System.Text.Json;

namespace VisionPlatform.Training.Trainers;

/// <summary>
/// The library's own resume setting that the trainer contracts add to the advanced config when a run resumes
/// (<see cref="TrainingJobConfig.Resume"/> with <see cref="TrainingJobConfig.CheckpointPath"/>), next to the contract's
/// generic <c>--checkpoint_path</c>/<c>--resume</c>, so the trainer can forward it to the library unchanged:
/// <list type="table">
/// <listheader><term>framework</term><description>key and value</description></listheader>
/// <item><term><c>ultralytics</c></term><description><c>"resume": "&lt;CheckpointPath&gt;"</c>: ultralytics' <c>resume</c> train
/// argument (<c>model.train(resume=...)</c>); a path to an existing checkpoint resumes from that checkpoint.</description></item>
/// <item><term><c>timm</c></term><description><c>"resume": "&lt;CheckpointPath&gt;"</c>: timm <c>train.py</c>'s
/// <c>--resume &lt;checkpoint.pth.tar&gt;</c> (model, optimizer, scaler and epoch).</description></item>
/// <item><term><c>huggingface</c>, <c>transformers</c></term><description><c>"resume_from_checkpoint": "&lt;CheckpointPath&gt;"</c>:
/// the <c>TrainingArguments</c> field and the <c>Trainer.train(resume_from_checkpoint=...)</c> argument (a
/// <c>checkpoint-&lt;step&gt;</c> folder).</description></item>
/// <item><term>any other framework</term><description>nothing: only the generic flags.</description></item>
/// </list>
/// The key is appended after the caller's own keys, whose text is kept byte for byte; a config that already holds the
/// key with the same value is passed unchanged, and one with a different value is refused by
/// <see cref="TrainingJobConfigBuilder.Build"/> (field <c>AdvancedConfig.&lt;key&gt;</c>). Custom
/// <see cref="ITrainerContract"/> implementations call <see cref="GetTrainerAdvancedConfig"/> to render the same.
/// </summary>
public static class FrameworkResume
{
    /// <summary>The advanced-config key of ultralytics' and timm's resume setting.</summary>
    public const string ResumeKey = "resume";

    /// <summary>The advanced-config key of the Hugging Face <c>Trainer</c>'s resume setting.</summary>
    public const string ResumeFromCheckpointKey = "resume_from_checkpoint";

    /// <summary>
    /// The advanced-config key under which the framework's library takes the checkpoint to resume from:
    /// <see cref="ResumeKey"/> for ultralytics and timm, <see cref="ResumeFromCheckpointKey"/> for huggingface and
    /// transformers, <see langword="null"/> for any other framework (it gets only the contract's generic flags).
    /// </summary>
    /// <param name="framework">The job's framework.</param>
    /// <returns>The key, or <see langword="null"/>.</returns>
    public static string? GetAdvancedConfigKey(TrainingFramework framework) => framework.Value switch
    {
        "ultralytics" or "timm" => ResumeKey,
        "huggingface" or "transformers" => ResumeFromCheckpointKey,
        _ => null,
    };

    /// <summary>
    /// The advanced config a trainer contract passes to the trainer: <see cref="TrainingJobConfig.AdvancedConfig"/>
    /// itself (the same text, or <see langword="null"/>) unless the run resumes with a framework that has a key
    /// (<see cref="GetAdvancedConfigKey"/>) the config does not hold yet; then that text with
    /// <c>,"&lt;key&gt;":"&lt;CheckpointPath&gt;"</c> inserted before its closing brace, or <c>{"&lt;key&gt;":"&lt;CheckpointPath&gt;"}</c>
    /// when the job has no advanced config.
    /// </summary>
    /// <param name="config">The job.</param>
    /// <returns>The advanced config to render, or <see langword="null"/> when there is none.</returns>
    /// <exception cref="TrainingValidationException">The config holds the key with another value (which <see cref="TrainingJobConfigBuilder.Build"/> already refuses).</exception>
    public static string? GetTrainerAdvancedConfig(TrainingJobConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var advanced = config.AdvancedConfig;
        if (!config.Resume || config.CheckpointPath is not { Length: > 0 } checkpoint || GetAdvancedConfigKey(config.Framework) is not { } key)
        {
            return advanced;
        }

        var member = $"\"{key}\":\"{JsonEncodedText.Encode(checkpoint)}\"";
        if (advanced is null)
        {
            return "{" + member + "}";
        }

        bool hasMembers;
        using (var document = JsonDocument.Parse(advanced))
        {
            if (Conflict(config.Framework, checkpoint, document.RootElement) is { } conflict)
            {
                throw new TrainingValidationException([conflict]);
            }

            if (Holds(document.RootElement, key))
            {
                return advanced;
            }

            hasMembers = document.RootElement.EnumerateObject().Any();
        }

        // The text is one validated JSON object (no comments, nothing but white space after it), so its last '}' closes it.
        var close = advanced.LastIndexOf('}');
        return string.Concat(advanced.AsSpan(0, close), hasMembers ? "," : string.Empty, member, advanced.AsSpan(close));
    }

    /// <summary>
    /// The validation error for an advanced config that already holds the framework's resume key with a value other
    /// than the checkpoint path, or <see langword="null"/>.
    /// </summary>
    /// <param name="framework">The job's framework.</param>
    /// <param name="checkpointPath">The checkpoint the run resumes from.</param>
    /// <param name="advanced">The advanced config's root object.</param>
    internal static TrainingValidationError? Conflict(TrainingFramework framework, string checkpointPath, JsonElement advanced)
    {
        if (GetAdvancedConfigKey(framework) is not { } key || advanced.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var property in advanced.EnumerateObject())
        {
            if (property.NameEquals(key) && !(property.Value.ValueKind == JsonValueKind.String && property.Value.ValueEquals(checkpointPath)))
            {
                var shown = property.Value.GetRawText();
                return new(
                    $"{nameof(TrainingJobConfig.AdvancedConfig)}.{key}",
                    shown.Length <= 80 ? shown : string.Concat(shown.AsSpan(0, 77), "..."),
                    $"conflicts with CheckpointPath: when Resume is set, the SDK renders the {framework.Value} library's resume setting \"{key}\" as CheckpointPath in the advanced config; leave the key out (the SDK adds it) or give it exactly CheckpointPath's value");
            }
        }

        return null;
    }

    private static bool Holds(JsonElement advanced, string key)
    {
        foreach (var property in advanced.EnumerateObject())
        {
            if (property.NameEquals(key))
            {
                return true;
            }
        }

        return false;
    }
}
