namespace VisionPlatform.Training;

/// <summary>
/// The HTTP status an API answers for each <see cref="TrainingErrorCode"/>: one mapping that a backend's endpoints, the
/// Backend sample and the getting-started page all use, so a code answers the same everywhere. Returns plain
/// <see cref="int"/> statuses (the SDK has no ASP.NET Core dependency); pass them to <c>Results.Problem(statusCode: ...)</c>.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Code</term><description>Status</description></listheader>
/// <item><term><see cref="TrainingErrorCode.ValidationFailed"/></term><description>400: fix the request</description></item>
/// <item><term><see cref="TrainingErrorCode.Forbidden"/></term><description>403: the backend's own identity (for example its Kubernetes service account) lacks a permission</description></item>
/// <item><term><see cref="TrainingErrorCode.RunNotFound"/>, <see cref="TrainingErrorCode.UnknownExecutor"/>, <see cref="TrainingErrorCode.ArtifactNotFound"/></term><description>404</description></item>
/// <item><term><see cref="TrainingErrorCode.JobConflict"/></term><description>409: the job id is used with other settings</description></item>
/// <item><term><see cref="TrainingErrorCode.Unschedulable"/>, <see cref="TrainingErrorCode.Rejected"/></term><description>422: valid, but no executor can run it as asked; retrying does not help</description></item>
/// <item><term><see cref="TrainingErrorCode.QueueFull"/></term><description>429: try again later</description></item>
/// <item><term><see cref="TrainingErrorCode.SubscriberOverflow"/></term><description>500: a server-side subscriber fell behind</description></item>
/// <item><term><see cref="TrainingErrorCode.ExecutorFailure"/> and any code an executor defines itself</term><description>502</description></item>
/// <item><term><see cref="TrainingErrorCode.ExecutorUnavailable"/>, <see cref="TrainingErrorCode.SubscriberLimitReached"/></term><description>503: try again later (health says why)</description></item>
/// <item><term><see cref="TrainingErrorCode.OutcomeUnknown"/></term><description>504: the request may have been applied; repeat it with the same job id</description></item>
/// </list>
/// </remarks>
public static class TrainingHttpStatus
{
    /// <summary>The status for a code an executor defines itself (not one of <see cref="TrainingErrorCode"/>'s own): 502 Bad Gateway.</summary>
    public const int ExecutorDefinedCode = 502;

    private static readonly Dictionary<TrainingErrorCode, int> Statuses = new()
    {
        [TrainingErrorCode.ValidationFailed] = 400,
        [TrainingErrorCode.Forbidden] = 403,
        [TrainingErrorCode.RunNotFound] = 404,
        // Only run handles name an executor in a request: one this host does not have is a run it cannot know.
        [TrainingErrorCode.UnknownExecutor] = 404,
        [TrainingErrorCode.ArtifactNotFound] = 404,
        [TrainingErrorCode.JobConflict] = 409,
        [TrainingErrorCode.Unschedulable] = 422,
        [TrainingErrorCode.Rejected] = 422,
        [TrainingErrorCode.QueueFull] = 429,
        [TrainingErrorCode.SubscriberOverflow] = 500,
        [TrainingErrorCode.ExecutorFailure] = 502,
        [TrainingErrorCode.ExecutorUnavailable] = 503,
        [TrainingErrorCode.SubscriberLimitReached] = 503,
        [TrainingErrorCode.OutcomeUnknown] = 504,
    };

    /// <summary>
    /// Returns the HTTP status for <paramref name="code"/>: the table in the remarks for the SDK's own codes,
    /// <see cref="ExecutorDefinedCode"/> (502) for a code an executor defines.
    /// </summary>
    /// <param name="code">The exception's <see cref="TrainingException.Code"/>.</param>
    /// <returns>An HTTP status code, 400 to 504.</returns>
    public static int For(TrainingErrorCode code) => TryGet(code, out var status) ? status : ExecutorDefinedCode;

    /// <summary>Returns the HTTP status for <paramref name="exception"/>'s code (see <see cref="For(TrainingErrorCode)"/>).</summary>
    /// <param name="exception">The exception an SDK call threw.</param>
    /// <returns>An HTTP status code, 400 to 504.</returns>
    public static int For(TrainingException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return For(exception.Code);
    }

    /// <summary>Gets the status of one of the SDK's own codes; false for a code an executor defines (or <c>default</c>).</summary>
    /// <param name="code">The code.</param>
    /// <param name="status">The HTTP status when the SDK defines <paramref name="code"/>; otherwise 0.</param>
    /// <returns>Whether <paramref name="code"/> is one of the SDK's own codes.</returns>
    public static bool TryGet(TrainingErrorCode code, out int status)
    {
        if (code.Value is not null && Statuses.TryGetValue(code, out status))
        {
            return true;
        }

        status = 0;
        return false;
    }
}
