using System.Globalization;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;

/// <summary>
/// The part of the apiserver's content negotiation that decides between a plain object and a <c>meta.k8s.io</c>
/// Table. The Accept header's entries are tried in order of their <c>q</c> (stable for equal weights, wildcards
/// last); the first one this server can answer wins: JSON with <c>as=Table;g=meta.k8s.io;v=v1</c> (or
/// <c>v1beta1</c>) gives a Table of that version, JSON without <c>as</c> the plain object. Entries it cannot answer
/// (protobuf, YAML, <c>as=PartialObjectMetadata</c>) are skipped, and when none is left the answer is plain JSON, as it
/// always was here (the real server would answer 406 or the other encodings).
/// </summary>
internal static class TableNegotiation
{
    /// <summary>The Table's apiVersion (<c>meta.k8s.io/v1</c> or <c>meta.k8s.io/v1beta1</c>), or null for the plain object.</summary>
    public static string? TableVersion(string? accept)
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

            if (kind == "Table"
                && clause.Parameters.GetValueOrDefault("g") == "meta.k8s.io"
                && clause.Parameters.GetValueOrDefault("v") is "v1" or "v1beta1")
            {
                return "meta.k8s.io/" + clause.Parameters["v"];
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
