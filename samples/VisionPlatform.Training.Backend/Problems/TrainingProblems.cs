using System.Text.RegularExpressions;
using VisionPlatform.Training.Backend.Runs;

namespace VisionPlatform.Training.Backend.Problems;

/// <summary>
/// The one place that turns the SDK's errors into HTTP answers: every <see cref="TrainingErrorCode"/> has the status the
/// SDK's <see cref="TrainingHttpStatus"/> gives it (the same mapping docs/getting-started.md uses), a stable problem
/// <c>type</c> and a title; every endpoint (and <see cref="TrainingExceptionHandler"/>, for
/// what an endpoint lets escape) answers through it. Details never carry host paths: they are logged, and replaced by
/// <c>&lt;path&gt;</c> in the body.
/// </summary>
internal static partial class TrainingProblems
{
    /// <summary>The problem <c>type</c> of a code: <c>urn:visionplatform:training:problem:&lt;code&gt;</c>.</summary>
    public const string TypePrefix = "urn:visionplatform:training:problem:";

    /// <summary>Problem type for a handle that is not a run handle (400).</summary>
    public const string BadHandleType = TypePrefix + "BadHandle";

    /// <summary>Problem type for a code this table does not know (an executor's own code; 502).</summary>
    public const string UnknownCodeType = TypePrefix + "ExecutorError";

    /// <summary>A title for each code the SDK defines; the status comes from the SDK's <see cref="TrainingHttpStatus"/>.</summary>
    public static IReadOnlyDictionary<TrainingErrorCode, string> Titles { get; } = new Dictionary<TrainingErrorCode, string>
    {
        [TrainingErrorCode.ValidationFailed] = "The request is invalid",
        [TrainingErrorCode.JobConflict] = "The job id is already used with other settings",
        [TrainingErrorCode.RunNotFound] = "Unknown run",
        [TrainingErrorCode.UnknownExecutor] = "Unknown executor",
        [TrainingErrorCode.ExecutorUnavailable] = "No executor can start the run now",
        [TrainingErrorCode.QueueFull] = "The executor's queue is full: try again later",
        [TrainingErrorCode.Unschedulable] = "The job cannot run on any available executor",
        [TrainingErrorCode.Rejected] = "The executor rejected the job",
        [TrainingErrorCode.Forbidden] = "The training backend is not allowed to do this",
        [TrainingErrorCode.ArtifactNotFound] = "Artifact not found",
        [TrainingErrorCode.OutcomeUnknown] = "The outcome is unknown: retry with the same job id",
        [TrainingErrorCode.ExecutorFailure] = "The executor failed",
        [TrainingErrorCode.SubscriberLimitReached] = "Too many event subscriptions: try again later",
        [TrainingErrorCode.SubscriberOverflow] = "An event subscription fell behind",
    };

    /// <summary>Status (from <see cref="TrainingHttpStatus"/>, the mapping the getting-started page uses too) and title for each code the SDK defines.</summary>
    public static IReadOnlyDictionary<TrainingErrorCode, (int Status, string Title)> Table { get; } =
        Titles.ToDictionary(t => t.Key, t => (TrainingHttpStatus.For(t.Key), t.Value));

    /// <summary>The answer to a <see cref="TrainingException"/>.</summary>
    public static IResult For(TrainingException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is TrainingValidationException validation)
        {
            return Invalid(validation.Errors);
        }

        var status = TrainingHttpStatus.For(exception.Code);
        var (title, type) = Titles.TryGetValue(exception.Code, out var known)
            ? (known, TypePrefix + exception.Code.Value)
            : ("The executor failed", UnknownCodeType);
        return Problem(status, type, title, exception.Message, new Dictionary<string, object?> { ["code"] = exception.Code.Value });
    }

    /// <summary>400 listing each bad field (named as the client sent it), its value and the rule.</summary>
    public static IResult Invalid(IEnumerable<TrainingValidationError> errors)
    {
        var fields = errors
            .Select(e => new TrainingValidationError(char.IsUpper(e.Field[0]) ? StartRunRequest.FieldFor(e.Field) : e.Field, e.Value, e.Rule))
            .ToArray();
        var (status, title) = Table[TrainingErrorCode.ValidationFailed];
        return Problem(
            status,
            TypePrefix + TrainingErrorCode.ValidationFailed.Value,
            title,
            string.Join("; ", fields.Select(f => f.ToString())),
            new Dictionary<string, object?> { ["code"] = TrainingErrorCode.ValidationFailed.Value, ["errors"] = fields });
    }

    /// <summary>404 for a job id no executor knows.</summary>
    public static IResult UnknownJob(string jobId) =>
        For(new TrainingException(TrainingErrorCode.RunNotFound, $"No run has job id '{jobId}'.") { JobId = jobId });

    /// <summary>400 for a string that is not a run handle.</summary>
    public static IResult BadHandle(string handle) => Problem(
        StatusCodes.Status400BadRequest,
        BadHandleType,
        "Not a run handle",
        $"'{handle}' is not a run handle: it looks like 'run1/<executor>/<resource-id>/<job-id>', as POST /runs returned it.",
        new Dictionary<string, object?> { ["code"] = "BadHandle" });

    /// <summary>413 for a body over the start limit.</summary>
    public static IResult TooLarge(long limit) => Problem(
        StatusCodes.Status413PayloadTooLarge,
        TypePrefix + "RequestTooLarge",
        "The request body is too large",
        $"The body must be at most {limit} bytes (Backend:Limits:MaxStartBodyBytes).",
        new Dictionary<string, object?> { ["code"] = "RequestTooLarge" });

    /// <summary>400 for a stop that could be a cross-site form post: neither a JSON body nor the custom header.</summary>
    public static IResult FormPostRefused() => Problem(
        StatusCodes.Status400BadRequest,
        TypePrefix + "JsonOrHeaderRequired",
        "A stop needs a JSON body or the X-Training-Request header",
        "Send Content-Type: application/json (for example the body {}) or the header X-Training-Request: 1; a plain form post is refused.",
        new Dictionary<string, object?> { ["code"] = "JsonOrHeaderRequired" });

    /// <summary>429 for a caller holding as many event streams as it may.</summary>
    public static IResult TooManyStreams(int limit) => Problem(
        StatusCodes.Status429TooManyRequests,
        TypePrefix + "TooManyEventStreams",
        "Too many open event streams",
        $"A caller may hold at most {limit} event streams open (Backend:Limits:MaxEventStreamsPerCaller); close one first.",
        new Dictionary<string, object?> { ["code"] = "TooManyEventStreams" });

    /// <summary>Replaces absolute file-system paths (this host's layout) with <c>&lt;path&gt;</c>.</summary>
    public static string? RedactPaths(string? text) => text is null ? null : HostPath().Replace(text, "<path>");

    private static IResult Problem(int status, string type, string title, string detail, Dictionary<string, object?> extensions) =>
        TypedResults.Problem(RedactPaths(detail), statusCode: status, title: title, type: type, extensions: extensions);

    // A rooted Unix path of two or more segments (/tmp/x/state.json) or a Windows drive path (C:\runs\x).
    [GeneratedRegex(@"(?<![\w.:/~-])(?:/[\w.@+-]+){2,}/?|\b[A-Za-z]:\\[^\s'""),;]+")]
    private static partial Regex HostPath();
}
