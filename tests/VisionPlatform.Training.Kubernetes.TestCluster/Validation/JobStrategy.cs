using System.Globalization;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>
/// batch/v1 Jobs as the registry handles them (pkg/registry/batch/job/strategy.go, pkg/apis/batch/v1/defaults.go,
/// pkg/apis/batch/validation): SetDefaults_Job and the pod template defaults at decode, status cleared and the
/// selector generated on create, ValidateJob, the label copy on read, and the immutable fields on update.
/// </summary>
internal sealed class JobStrategy(KubernetesTestClusterOptions options) : GenericStrategy(ResourceType.Jobs, NameRules.Dns1123Subdomain, hasStatus: true)
{
    public const string ControllerUidLabel = "batch.kubernetes.io/controller-uid";
    public const string LegacyControllerUidLabel = "controller-uid";
    public const string JobNameLabel = "batch.kubernetes.io/job-name";
    public const string LegacyJobNameLabel = "job-name";

    private const int MaxParallelismForIndexedJob = 100_000;
    private const int MaxFailedIndexesLimit = 100_000;
    private const int CompletionsHardLimitForBackoffLimitPerIndex = 100_000;
    private const int MaxFailedIndexesForLargeJobs = 10_000;
    private const int MaxParallelismForLargeJobs = 10_000;

    private readonly PodSpecValidator _podSpec = new(options.StrictEnvironmentVariableNames);

    public override void Decode(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var spec = Child(obj, "spec");
        var template = Child(spec, "template");
        var podSpec = Child(template, "spec");
        PodDefaults.DecodeQuantities(podSpec, ResourceType.Jobs);

        // SetDefaults_Job.
        if (spec["completions"] is null && spec["parallelism"] is null)
        {
            spec["completions"] = 1;
            spec["parallelism"] = 1;
        }

        spec["parallelism"] ??= 1;
        spec["backoffLimit"] ??= spec["backoffLimitPerIndex"] is not null ? int.MaxValue : 6;
        if (string.IsNullOrEmpty(Json.GetString(spec, "completionMode")))
        {
            spec["completionMode"] = "NonIndexed";
        }

        spec["suspend"] ??= false;
        spec["manualSelector"] ??= false;
        if (spec["podFailurePolicy"] is JsonObject pfp && pfp["rules"] is JsonArray rules)
        {
            foreach (var condition in rules.OfType<JsonObject>().Select(r => r["onPodConditions"]).OfType<JsonArray>().SelectMany(a => a.OfType<JsonObject>()))
            {
                if (string.IsNullOrEmpty(Json.GetString(condition, "status")))
                {
                    condition["status"] = "True";
                }
            }
        }

        if (string.IsNullOrEmpty(Json.GetString(spec, "podReplacementPolicy")))
        {
            spec["podReplacementPolicy"] = spec["podFailurePolicy"] is not null ? "Failed" : "TerminatingOrFailed";
        }

        CopyTemplateLabelsWhenUnlabelled(obj);
        PodDefaults.ApplySpecDefaults(podSpec);
    }

    public override void PrepareForCreate(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        obj["status"] = new JsonObject();
        if (Json.GetBool(obj, "spec", "manualSelector") != true)
        {
            GenerateSelector(obj);
        }

        var errors = new FieldErrors();
        MetaValidator.ValidateObjectMeta(obj, Type, NameRules.Dns1123Subdomain, errors);
        Validate(obj, errors);
        errors.ThrowIfAny(Type, Json.GetString(obj, "metadata", "name") ?? "");

        // Defaulting runs again when the object is read back from storage.
        CopyTemplateLabelsWhenUnlabelled(obj);
    }

    public override JsonObject PrepareForUpdate(JsonObject updated, JsonObject existing)
    {
        var result = base.PrepareForUpdate(updated, existing);
        CopyTemplateLabelsWhenUnlabelled(result);
        return result;
    }

    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        var name = Json.GetString(obj, "metadata", "name") ?? "";
        var uid = Json.GetString(obj, "metadata", "uid") ?? "";
        var spec = obj["spec"] as JsonObject ?? [];
        var completionMode = Json.GetString(spec, "completionMode");
        var completions = Json.GetLong(spec, "completions");
        if (completionMode == "Indexed" && completions is > 0)
        {
            var host = string.Create(CultureInfo.InvariantCulture, $"{name}-{completions - 1}");
            if (NameRules.Dns1123Label(host).Count > 0)
            {
                errors.Invalid("metadata.name", name, $"will not able to create pod with invalid DNS label: {host}");
            }
        }

        var manual = Json.GetBool(spec, "manualSelector") == true;
        if (!manual)
        {
            ValidateGeneratedSelector(spec, name, uid, errors);
        }

        ValidateSpec(spec, errors);
    }

    protected override void ValidateUpdate(JsonObject updated, JsonObject existing, FieldErrors errors)
    {
        foreach (var field in new[] { "completions", "selector", "completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy" })
        {
            Immutable(updated, existing, field, errors);
        }

        // The template may change only while the Job is suspended (and never its selector labels).
        if (Json.GetBool(existing, "spec", "suspend") != true)
        {
            Immutable(updated, existing, "template", errors);
        }
    }

    private static void Immutable(JsonObject updated, JsonObject existing, string field, FieldErrors errors)
    {
        var now = Json.Walk(updated, "spec", field);
        if (!JsonNode.DeepEquals(now, Json.Walk(existing, "spec", field)))
        {
            errors.InvalidRaw("spec." + field, now?.ToJsonString() ?? "null", "field is immutable");
        }
    }

    private void ValidateSpec(JsonObject spec, FieldErrors errors)
    {
        foreach (var field in new[] { "parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished", "backoffLimitPerIndex", "maxFailedIndexes" })
        {
            if (Json.GetLong(spec, field) is < 0 and var value)
            {
                errors.Invalid("spec." + field, value, "must be greater than or equal to 0");
            }
        }

        var mode = Json.GetString(spec, "completionMode") ?? "NonIndexed";
        var indexed = mode == "Indexed";
        var completions = Json.GetLong(spec, "completions");
        var parallelism = Json.GetLong(spec, "parallelism");
        var backoffLimitPerIndex = Json.GetLong(spec, "backoffLimitPerIndex");
        var maxFailedIndexes = Json.GetLong(spec, "maxFailedIndexes");
        if (backoffLimitPerIndex is { } blpi && !indexed)
        {
            errors.Invalid("spec.backoffLimitPerIndex", blpi, "requires indexed completion mode");
        }

        if (maxFailedIndexes is not null && backoffLimitPerIndex is null)
        {
            errors.Required("spec.backoffLimitPerIndex", "when maxFailedIndexes is specified");
        }

        if (Json.GetString(spec, "managedBy") is { } managedBy)
        {
            if (managedBy.Length > 63)
            {
                errors.TooLong("spec.managedBy", "may not be more than 63 bytes");
            }
            else
            {
                var parts = managedBy.Split('/', 2);
                if (parts.Length < 2 || NameRules.Dns1123Subdomain(parts[0]).Count > 0 || parts[1].Length == 0)
                {
                    errors.Invalid("spec.managedBy", managedBy, "must be a domain-prefixed path (such as \"acme.io/foo\")");
                }
            }
        }

        if (mode is not ("NonIndexed" or "Indexed"))
        {
            errors.NotSupported("spec.completionMode", mode, "NonIndexed", "Indexed");
        }

        if (indexed)
        {
            if (completions is null)
            {
                errors.Required("spec.completions", "when completion mode is Indexed");
            }

            if (parallelism is > MaxParallelismForIndexedJob)
            {
                errors.Invalid("spec.parallelism", parallelism.Value, $"must be less than or equal to {MaxParallelismForIndexedJob} when completion mode is Indexed");
            }

            if (completions is { } c && maxFailedIndexes is { } mfi && mfi > c)
            {
                errors.Invalid("spec.maxFailedIndexes", mfi, "must be less than or equal to completions");
            }

            if (maxFailedIndexes is > MaxFailedIndexesLimit)
            {
                errors.Invalid("spec.maxFailedIndexes", maxFailedIndexes.Value, $"must be less than or equal to {MaxFailedIndexesLimit}");
            }

            if (completions is > CompletionsHardLimitForBackoffLimitPerIndex && backoffLimitPerIndex is not null)
            {
                if (maxFailedIndexes is null)
                {
                    errors.Required("spec.maxFailedIndexes", $"must be specified when completions is above {CompletionsHardLimitForBackoffLimitPerIndex}");
                }
                else if (maxFailedIndexes > MaxFailedIndexesForLargeJobs)
                {
                    errors.Invalid("spec.maxFailedIndexes", maxFailedIndexes.Value,
                        $"must be less than or equal to {MaxFailedIndexesForLargeJobs} when completions is above {CompletionsHardLimitForBackoffLimitPerIndex}");
                }

                if (parallelism is > MaxParallelismForLargeJobs)
                {
                    errors.Invalid("spec.parallelism", parallelism.Value,
                        $"must be less than or equal to {MaxParallelismForLargeJobs} when completions are above {CompletionsHardLimitForBackoffLimitPerIndex} and used with backoff limit per index");
                }
            }
        }

        var podFailurePolicy = spec["podFailurePolicy"] as JsonObject;
        var template = spec["template"] as JsonObject ?? [];
        var podSpec = template["spec"] as JsonObject ?? [];
        if (podFailurePolicy is not null)
        {
            ValidatePodFailurePolicy(podFailurePolicy, podSpec, backoffLimitPerIndex is not null, errors);
        }

        if (spec["successPolicy"] is JsonObject successPolicy)
        {
            ValidateSuccessPolicy(successPolicy, indexed, mode, completions, errors);
        }

        if (Json.GetString(spec, "podReplacementPolicy") is { } replacement)
        {
            if (podFailurePolicy is not null)
            {
                if (replacement != "Failed")
                {
                    errors.NotSupported("spec.podReplacementPolicy", replacement, "Failed");
                }
            }
            else if (replacement is not ("Failed" or "TerminatingOrFailed"))
            {
                errors.NotSupported("spec.podReplacementPolicy", replacement, "Failed", "TerminatingOrFailed");
            }
        }

        // ValidatePodTemplateSpec.
        var templateMeta = template["metadata"] as JsonObject ?? [];
        MetaValidator.ValidateLabels(templateMeta["labels"] as JsonObject, "spec.template.labels", errors);
        MetaValidator.ValidateAnnotations(templateMeta["annotations"] as JsonObject, "spec.template.annotations", errors);
        _podSpec.Validate(podSpec, "spec.template.spec", isTemplate: true, errors);

        if (spec["selector"] is not JsonObject selector)
        {
            errors.Required("spec.selector");
        }
        else if (!SelectorMatches(selector, Json.StringMap(templateMeta, "labels")))
        {
            errors.InvalidRaw("spec.template.metadata.labels", GoStringMap(templateMeta["labels"] as JsonObject), "`selector` does not match template `labels`");
        }

        var restart = Json.GetString(podSpec, "restartPolicy") ?? "";
        if (restart is "Always" or "")
        {
            errors.Required("spec.template.spec.restartPolicy", "valid values: \"OnFailure\", \"Never\"");
        }
        else if (restart is not ("OnFailure" or "Never"))
        {
            errors.NotSupported("spec.template.spec.restartPolicy", restart, "OnFailure", "Never");
        }
        else if (podFailurePolicy is not null && restart != "Never")
        {
            errors.Invalid("spec.template.spec.restartPolicy", restart, "only \"Never\" is supported when podFailurePolicy is specified");
        }
    }

    private static void ValidatePodFailurePolicy(JsonObject policy, JsonObject podSpec, bool hasBackoffLimitPerIndex, FieldErrors errors)
    {
        const string RulesPath = "spec.podFailurePolicy.rules";
        var rules = policy["rules"] as JsonArray ?? [];
        if (rules.Count > 20)
        {
            errors.TooMany(RulesPath, rules.Count, 20);
        }

        var containerNames = PodDefaults.Containers(podSpec).Select(c => Json.GetString(c, "name") ?? "").ToHashSet(StringComparer.Ordinal);
        string[] actions = ["Count", "FailIndex", "FailJob", "Ignore"];
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i] as JsonObject ?? [];
            var path = $"{RulesPath}[{i}]";
            var action = Json.GetString(rule, "action") ?? "";
            if (action.Length == 0)
            {
                errors.Required(path + ".action", "valid values: [\"Count\" \"FailIndex\" \"FailJob\" \"Ignore\"]");
            }
            else if (action == "FailIndex")
            {
                if (!hasBackoffLimitPerIndex)
                {
                    errors.Invalid(path + ".action", action, "requires the backoffLimitPerIndex to be set");
                }
            }
            else if (!actions.Contains(action))
            {
                errors.NotSupported(path + ".action", action, actions);
            }

            var onExitCodes = rule["onExitCodes"] as JsonObject;
            var onPodConditions = rule["onPodConditions"] as JsonArray;
            if (onExitCodes is not null)
            {
                ValidateOnExitCodes(onExitCodes, path + ".onExitCodes", containerNames, errors);
            }

            if (onPodConditions is { Count: > 0 })
            {
                if (onPodConditions.Count > 20)
                {
                    errors.TooMany(path + ".onPodConditions", onPodConditions.Count, 20);
                }

                for (var j = 0; j < onPodConditions.Count; j++)
                {
                    var pattern = onPodConditions[j] as JsonObject ?? [];
                    var p = $"{path}.onPodConditions[{j}]";
                    var conditionType = Json.GetString(pattern, "type") ?? "";
                    errors.InvalidEach(p + ".type", conditionType, NameRules.QualifiedName(conditionType));
                    var status = Json.GetString(pattern, "status") ?? "";
                    if (status.Length == 0)
                    {
                        errors.Required(p + ".status", "valid values: [\"False\" \"True\" \"Unknown\"]");
                    }
                    else if (status is not ("True" or "False" or "Unknown"))
                    {
                        errors.NotSupported(p + ".status", status, "False", "True", "Unknown");
                    }
                }
            }

            if (onExitCodes is not null && onPodConditions is { Count: > 0 })
            {
                errors.InvalidRaw(path, "", "specifying both OnExitCodes and OnPodConditions is not supported");
                FixOmittedValue(errors);
            }

            if (onExitCodes is null && onPodConditions is not { Count: > 0 })
            {
                errors.InvalidRaw(path, "", "specifying one of OnExitCodes and OnPodConditions is required");
                FixOmittedValue(errors);
            }
        }
    }

    /// <summary>field.OmitValueType: the body is just "Invalid value: detail".</summary>
    private static void FixOmittedValue(FieldErrors errors)
    {
        var causes = (List<StatusCause>)errors.Causes;
        var last = causes[^1];
        causes[^1] = last with { Message = last.Message.Replace("Invalid value: : ", "Invalid value: ", StringComparison.Ordinal) };
    }

    private static void ValidateOnExitCodes(JsonObject onExitCodes, string path, HashSet<string> containerNames, FieldErrors errors)
    {
        var op = Json.GetString(onExitCodes, "operator") ?? "";
        if (op.Length == 0)
        {
            errors.Required(path + ".operator", "valid values: [\"In\" \"NotIn\"]");
        }
        else if (op is not ("In" or "NotIn"))
        {
            errors.NotSupported(path + ".operator", op, "In", "NotIn");
        }

        if (Json.GetString(onExitCodes, "containerName") is { } containerName && !containerNames.Contains(containerName))
        {
            errors.Invalid(path + ".containerName", containerName, "must be one of the container or initContainer names in the pod template");
        }

        var values = (onExitCodes["values"] as JsonArray ?? []).Select(v => Json.GetLong(v) ?? 0).ToList();
        var valuesPath = path + ".values";
        if (values.Count == 0)
        {
            errors.InvalidRaw(valuesPath, PodSpecValidator.GoInt32Slice(values), "at least one value is required");
        }
        else if (values.Count > 255)
        {
            errors.TooMany(valuesPath, values.Count, 255);
        }
        else
        {
            var ordered = true;
            var seen = new HashSet<long>();
            for (var j = 0; j < values.Count; j++)
            {
                var value = values[j];
                if (op == "In" && value == 0)
                {
                    errors.Invalid($"{valuesPath}[{j}]", value, "must not be 0 for the In operator");
                }

                if (!seen.Add(value))
                {
                    var causes = (List<StatusCause>)errors.Causes;
                    causes.Add(new StatusCause("FieldValueDuplicate", "Duplicate value: " + value.ToString(CultureInfo.InvariantCulture), $"{valuesPath}[{j}]"));
                }

                if (j > 0 && values[j - 1] > value)
                {
                    ordered = false;
                }
            }

            if (!ordered)
            {
                errors.InvalidRaw(valuesPath, PodSpecValidator.GoInt32Slice(values), "must be ordered");
            }
        }
    }

    private static void ValidateSuccessPolicy(JsonObject policy, bool indexed, string mode, long? completions, FieldErrors errors)
    {
        if (!indexed)
        {
            errors.Invalid("spec.completionMode", mode, "requires indexed completion mode");
        }

        var rules = policy["rules"] as JsonArray ?? [];
        if (rules.Count == 0)
        {
            errors.Required("spec.successPolicy.rules", "at least one rules must be specified when the successPolicy is specified");
        }

        if (rules.Count > 20)
        {
            errors.TooMany("spec.successPolicy.rules", rules.Count, 20);
        }

        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i] as JsonObject ?? [];
            var path = $"spec.successPolicy.rules[{i}]";
            var count = Json.GetLong(rule, "succeededCount");
            if (count is null && rule["succeededIndexes"] is null)
            {
                errors.Required(path, "at least one of succeededCount or succeededIndexes must be specified");
            }

            if (count is < 0)
            {
                errors.Invalid(path + ".succeededCount", count.Value, "must be greater than or equal to 0");
            }

            if (count is { } c && completions is { } total && c > total)
            {
                errors.Invalid(path + ".succeededCount", c, $"must be less than or equal to {total} (the number of specified completions)");
            }
        }
    }

    private static void ValidateGeneratedSelector(JsonObject spec, string name, string uid, FieldErrors errors)
    {
        var labels = Json.StringMap(spec, "template", "metadata", "labels");
        foreach (var (key, expected) in new[] { (LegacyControllerUidLabel, uid), (ControllerUidLabel, uid), (LegacyJobNameLabel, name), (JobNameLabel, name) })
        {
            if (labels.TryGetValue(key, out var actual) && actual != expected && NameRules.LabelValue(expected).Count == 0)
            {
                errors.Invalid("spec.template.metadata.labels", actual, $"must be '{expected}'");
            }
        }

        var expectedSelector = new JsonObject { ["matchLabels"] = new JsonObject { [ControllerUidLabel] = uid } };
        if (spec["selector"] is JsonObject selector && !JsonNode.DeepEquals(selector, expectedSelector))
        {
            errors.InvalidRaw("spec.selector", GoSelector(selector), "`selector` not auto-generated");
        }
    }

    /// <summary>strategy.go generateSelector: the job-name and controller-uid labels and matchLabels on the uid.</summary>
    private static void GenerateSelector(JsonObject job)
    {
        var name = Json.GetString(job, "metadata", "name") ?? "";
        var uid = Json.GetString(job, "metadata", "uid") ?? "";
        var spec = Child(job, "spec");
        var templateMeta = Child(Child(spec, "template"), "metadata");
        var labels = Child(templateMeta, "labels");
        foreach (var key in new[] { LegacyJobNameLabel, JobNameLabel })
        {
            labels[key] ??= name;
        }

        foreach (var key in new[] { LegacyControllerUidLabel, ControllerUidLabel })
        {
            labels[key] ??= uid;
        }

        var selector = Child(spec, "selector");
        var matchLabels = Child(selector, "matchLabels");
        matchLabels[ControllerUidLabel] ??= uid;
    }

    private static void CopyTemplateLabelsWhenUnlabelled(JsonObject job)
    {
        var meta = Json.Metadata(job);
        if (meta["labels"] is JsonObject { Count: > 0 })
        {
            return;
        }

        if (Json.Walk(job, "spec", "template", "metadata", "labels") is JsonObject { Count: > 0 } templateLabels)
        {
            meta["labels"] = templateLabels.DeepClone();
        }
    }

    /// <summary>metav1.LabelSelector matching: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist).</summary>
    internal static bool SelectorMatches(JsonObject selector, IReadOnlyDictionary<string, string> labels)
    {
        if (selector["matchLabels"] is JsonObject matchLabels)
        {
            foreach (var (key, value) in matchLabels)
            {
                if (!labels.TryGetValue(key, out var actual) || actual != value?.GetValue<string>())
                {
                    return false;
                }
            }
        }

        if (selector["matchExpressions"] is JsonArray expressions)
        {
            foreach (var expression in expressions.OfType<JsonObject>())
            {
                var key = Json.GetString(expression, "key") ?? "";
                var values = (expression["values"] as JsonArray ?? []).Select(v => v?.GetValue<string>() ?? "").ToList();
                var has = labels.TryGetValue(key, out var actual);
                var ok = Json.GetString(expression, "operator") switch
                {
                    "In" => has && values.Contains(actual!),
                    "NotIn" => !has || !values.Contains(actual!),
                    "Exists" => has,
                    "DoesNotExist" => !has,
                    _ => false,
                };
                if (!ok)
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static string GoStringMap(JsonObject? map) =>
        "map[string]string{" + string.Join(", ", (map ?? []).OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => $"{FieldErrors.Quote(p.Key)}:{FieldErrors.Quote(p.Value?.ToString() ?? "")}")) + "}";

    private static string GoSelector(JsonObject selector) =>
        "&v1.LabelSelector{MatchLabels:" + GoStringMap(selector["matchLabels"] as JsonObject) + ", MatchExpressions:[]v1.LabelSelectorRequirement(nil)}";

    private static JsonObject Child(JsonObject parent, string name)
    {
        if (parent[name] is JsonObject child)
        {
            return child;
        }

        child = [];
        parent[name] = child;
        return child;
    }
}
