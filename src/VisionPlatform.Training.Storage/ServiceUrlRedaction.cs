namespace VisionPlatform.Training.Storage;

/// <summary>
/// Shows a configured <see cref="ArtifactStorageOptions.ServiceUrl"/> without the parts that can carry credentials:
/// user info (<c>https://key:secret@host</c>) becomes <c>***</c>, and so do a query and a fragment (a pre-signed
/// URL's signature). The validator rejects such URLs, but its message and <see cref="ArtifactStorageOptions.ToString"/>
/// still show the value.
/// </summary>
internal static class ServiceUrlRedaction
{
    private const string Hidden = "***";

    /// <summary>The URL with user info, query and fragment replaced by <c>***</c>; text only, so unparseable values are covered too.</summary>
    /// <param name="serviceUrl">The configured value.</param>
    /// <returns>The value safe to show, or <see langword="null"/> when it is null.</returns>
    public static string? Redact(string? serviceUrl)
    {
        if (serviceUrl is null)
        {
            return null;
        }

        var schemeEnd = serviceUrl.IndexOf("://", StringComparison.Ordinal);
        var authorityStart = schemeEnd < 0 ? 0 : schemeEnd + 3;
        var queryStart = serviceUrl.IndexOfAny(['?', '#'], authorityStart);
        var beforeQuery = queryStart < 0 ? serviceUrl.Length : queryStart;

        // Everything up to the last '@' before the query is user info: a secret key may contain '/' (AWS keys do) or
        // '@', so the first '/' does not reliably end it. A path holding '@' is over-redacted, which is harmless.
        var at = beforeQuery > authorityStart ? serviceUrl.LastIndexOf('@', beforeQuery - 1, beforeQuery - authorityStart) : -1;
        var text = serviceUrl;
        if (at >= 0)
        {
            text = string.Concat(serviceUrl.AsSpan(0, authorityStart), Hidden, serviceUrl.AsSpan(at));
            beforeQuery -= at - authorityStart - Hidden.Length;
        }

        return queryStart < 0 ? text : string.Concat(text.AsSpan(0, beforeQuery + 1), Hidden);
    }
}
