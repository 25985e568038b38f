using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Backend.Security;

/// <summary>Endpoint metadata and middleware for the request limits that must apply before a body is read.</summary>
internal static class RequestGuards
{
    /// <summary>The custom header that lets a stop be sent without a JSON body (a cross-site HTML form cannot set it).</summary>
    public const string StopHeader = "X-Training-Request";

    /// <summary>Marks the start endpoint: its body is limited to <see cref="BackendLimitsOptions.MaxStartBodyBytes"/>.</summary>
    public static RouteHandlerBuilder WithStartBodyLimit(this RouteHandlerBuilder builder) => builder.WithMetadata(new StartBodyLimit());

    /// <summary>Applies the start body limit: 413 at once for a declared length over it, and Kestrel's limit for the rest.</summary>
    public static IApplicationBuilder UseStartBodyLimit(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<StartBodyLimit>() is not null)
        {
            var limit = context.RequestServices.GetRequiredService<IOptions<BackendLimitsOptions>>().Value.MaxStartBodyBytes;
            if (context.Request.ContentLength > limit)
            {
                await Problems.TrainingProblems.TooLarge(limit).ExecuteAsync(context).ConfigureAwait(false);
                return;
            }

            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = limit;
            }
        }

        await next(context).ConfigureAwait(false);
    });

    /// <summary>
    /// True when a state-changing POST cannot be a cross-site HTML form: its body is JSON (a form cannot send
    /// <c>application/json</c> without a CORS preflight) or it carries <see cref="StopHeader"/>.
    /// </summary>
    public static bool IsNotAFormPost(HttpRequest request) =>
        request.HasJsonContentType() || request.Headers.ContainsKey(StopHeader);

    private sealed class StartBodyLimit;
}
