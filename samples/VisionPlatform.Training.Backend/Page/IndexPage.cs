namespace VisionPlatform.Training.Backend.Page;

/// <summary>A one-file page at <c>/</c> that lists the runs and updates their phase and progress live from <c>/events</c>.</summary>
internal static class IndexPage
{
    private static readonly Lazy<string> Html = new(() =>
    {
        using var stream = typeof(IndexPage).Assembly.GetManifestResourceStream("index.html")
            ?? throw new InvalidOperationException("The page index.html is not embedded in the sample.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    public static IEndpointRouteBuilder MapIndexPage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => TypedResults.Content(Html.Value, "text/html; charset=utf-8"));
        return app;
    }
}
