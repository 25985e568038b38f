using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;

namespace VisionPlatform.Training;

/// <summary>
/// Builds a validated <see cref="TrainingJobConfig"/>. Set properties (object-initializer style), then call
/// <see cref="Build"/>, which reports every broken rule at once.
/// </summary>
/// <example>
/// <code>
/// var config = new TrainingJobConfigBuilder
/// {
///     JobId = "job-42",
///     Framework = TrainingFramework.Ultralytics,
///     TaskType = "object_detection",
///     ModelName = "yolo11n",
///     DatasetPath = "datasets/coco8",
///     DatasetFormat = "yolo",
///     Epochs = 5,
/// }.Build();
/// </code>
/// </example>
public sealed partial class TrainingJobConfigBuilder
{
    /// <summary>Largest accepted advanced-config JSON text, in characters.</summary>
    public const int MaxAdvancedConfigLength = 1024 * 1024;

    /// <summary>Most GPUs a single job may request.</summary>
    public const int MaxGpus = 64;

    /// <summary>
    /// Environment variable names that executors set themselves from the trainer contract and their options;
    /// a job may not override them.
    /// </summary>
    public static IReadOnlySet<string> ReservedEnvironmentNames { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "CUDA_VISIBLE_DEVICES", "AWS_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "BACKEND_API_URL",
        Storage.ArtifactEnvironment.BucketVariable, Storage.ArtifactEnvironment.PrefixVariable, Storage.ArtifactEnvironment.CheckpointUriVariable,
        "VP_RUN_MARKER",
    };

    /// <summary>
    /// Which variables <see cref="Environment"/> may hold (default <see cref="TrainingEnvironmentPolicy.Default"/>): loader,
    /// interpreter, proxy, credential, endpoint and device-visibility variables are refused unless the operator allows
    /// them (<c>Training:Environment:AllowedJobVariables</c>, <see cref="TrainingEnvironmentPolicy.FromOptions"/>); reserved names always are.
    /// </summary>
    public TrainingEnvironmentPolicy? EnvironmentPolicy { get; set; }

    /// <summary>Creates an empty builder with the platform's defaults (10 epochs, batch 16, learning rate 0.001, adam).</summary>
    public TrainingJobConfigBuilder()
    {
    }

    internal TrainingJobConfigBuilder(TrainingJobConfig c)
    {
        JobId = c.JobId;
        JobType = c.JobType;
        Framework = c.Framework;
        TaskType = c.TaskType;
        ModelName = c.ModelName;
        DatasetPath = c.DatasetPath;
        DatasetFormat = c.DatasetFormat;
        Epochs = c.Epochs;
        BatchSize = c.BatchSize;
        LearningRate = c.LearningRate;
        Optimizer = c.Optimizer;
        NumClasses = c.NumClasses;
        ProjectId = c.ProjectId;
        ImageSize = c.ImageSize;
        Pretrained = c.Pretrained;
        CheckpointPath = c.CheckpointPath;
        Resume = c.Resume;
        CallbackUrl = c.CallbackUrl;
        AdvancedConfig = c.AdvancedConfig;
        Resources = c.Resources;
        Environment = new Dictionary<string, string>(c.Environment, StringComparer.Ordinal);
        Labels = new Dictionary<string, string>(c.Labels, StringComparer.Ordinal);
        Distribution = c.Distribution;
    }

    /// <summary>The caller's job id (required; at most 253 characters, no control characters).</summary>
    public string? JobId { get; set; }

    /// <summary>What the job does (default <see cref="TrainingJobType.Training"/>).</summary>
    public TrainingJobType JobType { get; set; } = TrainingJobType.Training;

    /// <summary>The framework (required).</summary>
    public TrainingFramework Framework { get; set; }

    /// <summary>The task type, for example <c>object_detection</c> (required).</summary>
    public string? TaskType { get; set; }

    /// <summary>The model name, for example <c>yolo11n</c> (required).</summary>
    public string? ModelName { get; set; }

    /// <summary>The dataset location (required).</summary>
    public string? DatasetPath { get; set; }

    /// <summary>The dataset format, for example <c>yolo</c> (required).</summary>
    public string? DatasetFormat { get; set; }

    /// <summary>Epochs, 1 to 100000 (default 10).</summary>
    public int Epochs { get; set; } = 10;

    /// <summary>Batch size, 1 to 65536 (default 16).</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>Learning rate, greater than 0 and at most 10 (default 0.001).</summary>
    public double LearningRate { get; set; } = 0.001;

    /// <summary>Optimizer (default <c>adam</c>).</summary>
    public string Optimizer { get; set; } = "adam";

    /// <summary>Number of classes, 1 to 100000, when the task needs it.</summary>
    public int? NumClasses { get; set; }

    /// <summary>The platform's project id.</summary>
    public string? ProjectId { get; set; }

    /// <summary>Image size in pixels, 16 to 8192.</summary>
    public int? ImageSize { get; set; }

    /// <summary>Start from pretrained weights.</summary>
    public bool Pretrained { get; set; }

    /// <summary>A checkpoint to start from; required when <see cref="Resume"/> is set.</summary>
    public string? CheckpointPath { get; set; }

    /// <summary>Resume from <see cref="CheckpointPath"/>.</summary>
    public bool Resume { get; set; }

    /// <summary>An absolute http or https URL where the trainer reports progress.</summary>
    public Uri? CallbackUrl { get; set; }

    /// <summary>
    /// Framework-specific settings as the text of one JSON object; passed to the trainer verbatim, except that a
    /// resuming run of ultralytics, timm or Hugging Face gets the library's resume setting appended
    /// (<see cref="Trainers.FrameworkResume"/>). Holding that key with a value other than <see cref="CheckpointPath"/>
    /// while <see cref="Resume"/> is set is refused (field <c>AdvancedConfig.&lt;key&gt;</c>).
    /// </summary>
    public string? AdvancedConfig { get; set; }

    /// <summary>Requested resources (default none: CPU-only, no requests or limits).</summary>
    public TrainingResources? Resources { get; set; }

    /// <summary>
    /// How the job spreads over nodes and processes. Not set (the default): one trainer process that sees all of the
    /// job's GPUs. Set: <see cref="TrainingDistribution.Nodes"/> nodes, each running one process per GPU unless
    /// <see cref="TrainingDistribution.ProcessesPerNode"/> says otherwise, started by the framework's launcher. Several
    /// nodes need an executor that can place them (Kubernetes); the subprocess executor refuses them.
    /// </summary>
    public TrainingDistribution? Distribution { get; set; }

    /// <summary>Extra non-secret environment variables. Secrets come from executor options, never from the job.</summary>
    public IDictionary<string, string> Environment { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Labels for finding and grouping runs (Kubernetes label syntax).</summary>
    public IDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Sets <see cref="AdvancedConfig"/> from an object serialised as JSON (reflection-based; see the overload with a <see cref="JsonTypeInfo{T}"/> for trimmed and native AOT hosts).</summary>
    /// <param name="value">An object that serialises to a JSON object.</param>
    /// <returns>This builder.</returns>
    [RequiresUnreferencedCode("Reflection-based JSON serialisation of an arbitrary type; use WithAdvancedConfig(value, JsonTypeInfo<T>) in trimmed or native AOT hosts.")]
    [RequiresDynamicCode("Reflection-based JSON serialisation of an arbitrary type; use WithAdvancedConfig(value, JsonTypeInfo<T>) in trimmed or native AOT hosts.")]
    public TrainingJobConfigBuilder WithAdvancedConfig(object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        AdvancedConfig = value is string text ? text : JsonSerializer.Serialize(value, value.GetType());
        return this;
    }

    /// <summary>Sets <see cref="AdvancedConfig"/> from an object serialised as JSON with source-generated metadata (trim- and AOT-safe).</summary>
    /// <typeparam name="T">The object's type.</typeparam>
    /// <param name="value">An object that serialises to a JSON object.</param>
    /// <param name="typeInfo">The serialisation metadata, for example from a <c>JsonSerializerContext</c>.</param>
    /// <returns>This builder.</returns>
    public TrainingJobConfigBuilder WithAdvancedConfig<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(typeInfo);
        AdvancedConfig = JsonSerializer.Serialize(value, typeInfo);
        return this;
    }

    /// <summary>Checks every rule and returns the immutable config.</summary>
    /// <returns>The validated config.</returns>
    /// <exception cref="TrainingValidationException">One or more rules are broken; every problem is listed.</exception>
    public TrainingJobConfig Build()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new TrainingValidationException(errors);
        }

        return new TrainingJobConfig(this);
    }

    /// <summary>Checks every rule without building.</summary>
    /// <returns>The problems found; empty when the config is valid.</returns>
    public IReadOnlyList<TrainingValidationError> Validate()
    {
        var e = new List<TrainingValidationError>();

        RequireText(e, nameof(JobId), JobId, 253, allowControl: false);
        if (JobId is { Length: > 0 } id && id.Trim().Length != id.Length)
        {
            e.Add(new(nameof(JobId), Show(id), "must not begin or end with white space"));
        }

        if (!Enum.IsDefined(JobType))
        {
            e.Add(new(nameof(JobType), JobType.ToString(), "must be Training, Evaluation, Inference or Export"));
        }

        if (string.IsNullOrEmpty(Framework.Value))
        {
            e.Add(new(nameof(Framework), null, "is required (for example 'ultralytics', 'timm', 'huggingface')"));
        }
        else if (!Framework.IsValid)
        {
            e.Add(new(nameof(Framework), Show(Framework.Value), "must be a lower-case identifier of at most 63 characters ([a-z0-9][a-z0-9_-]*)"));
        }

        RequireIdentifier(e, nameof(TaskType), TaskType);
        RequireText(e, nameof(ModelName), ModelName, 256, allowControl: false);
        RequireText(e, nameof(DatasetPath), DatasetPath, 4096, allowControl: true);
        RequireIdentifier(e, nameof(DatasetFormat), DatasetFormat);

        Range(e, nameof(Epochs), Epochs, 1, 100_000);
        Range(e, nameof(BatchSize), BatchSize, 1, 65_536);
        if (!double.IsFinite(LearningRate) || LearningRate <= 0 || LearningRate > 10)
        {
            e.Add(new(nameof(LearningRate), LearningRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture), "must be a finite number greater than 0 and at most 10"));
        }

        if (string.IsNullOrEmpty(Optimizer) || Optimizer.Length > 63 || !OptimizerPattern().IsMatch(Optimizer))
        {
            e.Add(new(nameof(Optimizer), Show(Optimizer), "must be a name of at most 63 characters: a letter followed by letters, digits or '_'"));
        }

        if (NumClasses is { } classes)
        {
            Range(e, nameof(NumClasses), classes, 1, 100_000);
        }

        if (ProjectId is not null)
        {
            RequireText(e, nameof(ProjectId), ProjectId, 253, allowControl: false);
        }

        if (ImageSize is { } size)
        {
            Range(e, nameof(ImageSize), size, 16, 8192);
        }

        if (CheckpointPath is not null)
        {
            RequireText(e, nameof(CheckpointPath), CheckpointPath, 4096, allowControl: true);
        }

        if (Resume && string.IsNullOrEmpty(CheckpointPath))
        {
            e.Add(new(nameof(Resume), "true", "requires CheckpointPath: a run can only resume from a checkpoint"));
        }

        if (CallbackUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            e.Add(new(nameof(CallbackUrl), Show(url.OriginalString), "must be an absolute http or https URL"));
        }

        ValidateAdvancedConfig(e);
        ValidateResources(e);
        DistributionRules.Validate(e, Distribution, Resources ?? TrainingResources.None, Framework);
        ValidateEnvironment(e);
        ValidateLabels(e);
        return e;
    }

    private void ValidateAdvancedConfig(List<TrainingValidationError> e)
    {
        if (AdvancedConfig is null)
        {
            return;
        }

        if (AdvancedConfig.Length > MaxAdvancedConfigLength)
        {
            e.Add(new(nameof(AdvancedConfig), $"({AdvancedConfig.Length} characters)", $"must be at most {MaxAdvancedConfigLength} characters"));
            return;
        }

        if (AdvancedConfig.Contains('\0', StringComparison.Ordinal))
        {
            e.Add(new(nameof(AdvancedConfig), null, "must not contain NUL characters (a process argument cannot carry them)"));
            return;
        }

        try
        {
            using var doc = JsonDocument.Parse(AdvancedConfig);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                e.Add(new(nameof(AdvancedConfig), Show(AdvancedConfig), $"must be a JSON object, not a JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}"));
            }
            else if (Resume && CheckpointPath is { Length: > 0 } checkpoint && Trainers.FrameworkResume.Conflict(Framework, checkpoint, doc.RootElement) is { } conflict)
            {
                e.Add(conflict);
            }
        }
        catch (JsonException ex)
        {
            e.Add(new(nameof(AdvancedConfig), Show(AdvancedConfig), $"must be valid JSON ({ex.Message.Split(" Path:", 2)[0].TrimEnd('.')})"));
        }
    }

    private void ValidateResources(List<TrainingValidationError> e)
    {
        var r = Resources ?? TrainingResources.None;
        Range(e, "Resources.Gpus", r.Gpus, 0, MaxGpus);
        CheckPair(e, "Resources.Cpu", r.CpuRequest, r.CpuLimit);
        CheckPair(e, "Resources.Memory", r.MemoryRequest, r.MemoryLimit);
    }

    private static void CheckPair(List<TrainingValidationError> e, string prefix, string? request, string? limit)
    {
        var requestOk = Quantity(e, prefix + "Request", request, out var req);
        var limitOk = Quantity(e, prefix + "Limit", limit, out var lim);
        if (requestOk && limitOk && request is not null && limit is not null && req > lim)
        {
            e.Add(new(prefix + "Request", request, $"must be less than or equal to {prefix}Limit ({limit})"));
        }
    }

    private static bool Quantity(List<TrainingValidationError> e, string field, string? text, out decimal value)
    {
        value = 0;
        if (text is null)
        {
            return true;
        }

        if (!ResourceQuantity.TryParse(text, out value))
        {
            e.Add(new(field, Show(text), ResourceQuantity.Rule));
            return false;
        }

        return true;
    }

    private void ValidateEnvironment(List<TrainingValidationError> e)
    {
        foreach (var (name, value) in Environment ?? new Dictionary<string, string>())
        {
            var field = $"Environment[{name}]";
            if (!NameSyntax.IsEnvironmentVariableName(name))
            {
                e.Add(new(field, Show(name), "name " + NameSyntax.EnvironmentVariableNameRule));
            }
            else if ((EnvironmentPolicy ?? TrainingEnvironmentPolicy.Default).Check(name) is { } rule)
            {
                e.Add(new(field, null, rule));
            }
            else if (DistributionRules.LauncherVariableRule(name, Distribution, Resources, Framework) is { } launcherRule)
            {
                e.Add(new(field, null, launcherRule));
            }

            if (value is null)
            {
                e.Add(new(field, null, "value is required (use an empty string for an empty value)"));
            }
            else if (value.Contains('\0', StringComparison.Ordinal))
            {
                // The value itself is not echoed: environment values may be sensitive.
                e.Add(new(field, null, "value must not contain NUL characters"));
            }
        }
    }

    private void ValidateLabels(List<TrainingValidationError> e)
    {
        foreach (var (key, value) in Labels ?? new Dictionary<string, string>())
        {
            if (!NameSyntax.IsLabelKey(key))
            {
                e.Add(new($"Labels[{key}]", Show(key), "key " + NameSyntax.LabelKeyRule));
            }

            if (value is null || !NameSyntax.IsLabelValue(value))
            {
                e.Add(new($"Labels[{key}]", Show(value), "value " + NameSyntax.LabelValueRule));
            }
        }
    }

    private static void RequireText(List<TrainingValidationError> e, string field, string? value, int maxLength, bool allowControl)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            e.Add(new(field, value is null ? null : Show(value), "is required and must not be blank"));
            return;
        }

        if (value.Length > maxLength)
        {
            e.Add(new(field, Show(value), $"must be at most {maxLength} characters (it has {value.Length})"));
        }

        if (value.Contains('\0', StringComparison.Ordinal))
        {
            e.Add(new(field, Show(value), "must not contain NUL characters (a process argument cannot carry them)"));
        }
        else if (!allowControl && value.Any(char.IsControl))
        {
            e.Add(new(field, Show(value), "must not contain control characters"));
        }
    }

    private static void RequireIdentifier(List<TrainingValidationError> e, string field, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            e.Add(new(field, null, "is required"));
        }
        else if (value.Length > 63 || !IdentifierPattern().IsMatch(value))
        {
            e.Add(new(field, Show(value), "must be at most 63 characters of lower-case letters, digits, '_', '-' or '.', starting with a letter or digit"));
        }
    }

    private static void Range(List<TrainingValidationError> e, string field, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            e.Add(new(field, value.ToString(System.Globalization.CultureInfo.InvariantCulture), $"must be between {min} and {max}"));
        }
    }

    /// <summary>Shortens a value for an error message so a 10 KB value does not flood logs.</summary>
    private static string? Show(string? value) =>
        value is null ? null : value.Length <= 80 ? value : string.Concat(value.AsSpan(0, 77), "...");

    [GeneratedRegex("^[a-z0-9][a-z0-9_.-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierPattern();

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex OptimizerPattern();
}
