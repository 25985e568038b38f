using System.Globalization;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;

/// <summary>
/// The conversion an Accept header asks of a GET, list or watch answer: <c>Table</c>, <c>PartialObjectMetadata</c> or
/// <c>PartialObjectMetadataList</c> in <c>meta.k8s.io</c> <see cref="Version"/> (<c>v1</c> or <c>v1beta1</c>).
/// </summary>
internal sealed record OutputConversion(string Kind, string Version)
{
    /// <summary>The converted object's apiVersion, e.g. <c>meta.k8s.io/v1</c>.</summary>
    public string ApiVersion => "meta.k8s.io/" + Version;
}

/// <summary>
/// The part of the apiserver's content negotiation that decides between the plain object and a <c>meta.k8s.io</c>
/// conversion. The Accept header's entries are tried in order of their <c>q</c> (stable for equal weights, wildcards
/// last); the first one this server can answer wins: JSON (<c>application/json</c>, <c>application/*</c>,
/// <c>*/*</c>) without <c>as</c> gives the plain object, with <c>as=Table</c>, <c>as=PartialObjectMetadata</c> or
/// <c>as=PartialObjectMetadataList</c> and <c>g=meta.k8s.io;v=v1</c> (or <c>v1beta1</c>) that conversion. Entries it
/// cannot answer (protobuf, YAML, another <c>as</c>, group or version) are skipped, and when none is left the answer is
/// plain JSON, as it always was here (the real server would answer with those encodings, or 406).
/// </summary>
internal static class OutputNegotiation
{
    /// <summary>The conversion the header asks for, or null for the plain object.</summary>
    public static OutputConversion? Negotiate(string? accept)
    {
        if (string.IsNullOrWhiteSpace(accept))
        {
            return null;
        }

        var clauses = accept.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(Parse)
            .Where(c => c is not null)
            .Select(c => c!)
            .OrderByDescending(c => c.Q)
            .ThenBy(c => c.Type == "*")
            .ThenBy(c => c.SubType == "*");
        foreach (var clause in clauses)
        {
            if (clause.Q <= 0 || !MatchesJson(clause))
            {
                continue;
            }

            if (!clause.Parameters.TryGetValue("as", out var kind))
            {
                return null;
            }

            if (kind is "Table" or "PartialObjectMetadata" or "PartialObjectMetadataList"
                && clause.Parameters.GetValueOrDefault("g") == "meta.k8s.io"
                && clause.Parameters.GetValueOrDefault("v") is "v1" or "v1beta1")
            {
                return new OutputConversion(kind, clause.Parameters["v"]);
            }
        }

        return null;
    }

    private static bool MatchesJson(Clause clause) =>
        (clause.Type, clause.SubType) is ("application", "json") or ("application", "*") or ("*", "*");

    private static Clause? Parse(string text)
    {
        var parts = text.Split(';', StringSplitOptions.TrimEntries);
        var mediaType = parts[0].Split('/', 2);
        if (mediaType.Length != 2)
        {
            return null;
        }

        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var q = 1.0;
        foreach (var parameter in parts.Skip(1))
        {
            var pair = parameter.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2)
            {
                continue;
            }

            if (pair[0] == "q")
            {
                q = double.TryParse(pair[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var weight) ? weight : 0;
            }
            else
            {
                parameters[pair[0]] = pair[1];
            }
        }

        return new Clause(mediaType[0].ToLowerInvariant(), mediaType[1].ToLowerInvariant(), q, parameters);
    }

    private sealed record Clause(string Type, string SubType, double Q, Dictionary<string, string> Parameters);
}
