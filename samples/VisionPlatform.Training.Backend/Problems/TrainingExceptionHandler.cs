using Microsoft.AspNetCore.Diagnostics;

namespace VisionPlatform.Training.Backend.Problems;

/// <summary>
/// Answers a <see cref="TrainingException"/> that an endpoint did not handle through <see cref="TrainingProblems"/>, and
/// logs it in full (with any host paths the body leaves out). Anything else falls through to the default 500 problem.
/// </summary>
internal sealed partial class TrainingExceptionHandler(ILogger<TrainingExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not TrainingException training)
        {
            return false;
        }

        var result = TrainingProblems.For(training);
        if (result is IStatusCodeHttpResult { StatusCode: >= 500 })
        {
            LogServerSide(logger, httpContext.Request.Method, httpContext.Request.Path, training.Code.Value, training.ExecutorName, training.JobId, training);
        }
        else
        {
            LogClientSide(logger, httpContext.Request.Method, httpContext.Request.Path, training.Code.Value, training.Message);
        }

        await result.ExecuteAsync(httpContext).ConfigureAwait(false);
        return true;
    }

    [LoggerMessage(5001, LogLevel.Error, "{Method} {Path} failed with training error {Code} (executor {Executor}, job {JobId}).")]
    private static partial void LogServerSide(ILogger logger, string method, PathString path, string code, string? executor, string? jobId, Exception exception);

    [LoggerMessage(5002, LogLevel.Information, "{Method} {Path} answered training error {Code}: {Message}")]
    private static partial void LogClientSide(ILogger logger, string method, PathString path, string code, string message);
}
