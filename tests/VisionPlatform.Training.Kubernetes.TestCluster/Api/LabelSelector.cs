using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>
/// A parsed label selector (<c>a=b,c!=d,e in (f,g),h notin (i),j,!k</c>), matched as the apiserver matches it:
/// <c>!=</c> and <c>notin</c> also match objects without the label.
/// </summary>
public sealed class LabelSelector
{
    private readonly List<Requirement> _requirements;

    private LabelSelector(List<Requirement> requirements) => _requirements = requirements;

    /// <summary>True when the selector selects everything.</summary>
    public bool IsEmpty => _requirements.Count == 0;

    /// <summary>Parses a selector; a malformed one is a 400 BadRequest.</summary>
    public static LabelSelector Parse(string? text)
    {
        var requirements = new List<Requirement>();
        if (string.IsNullOrWhiteSpace(text))
        {
            return new LabelSelector(requirements);
        }

        foreach (var raw in SplitTopLevel(text))
        {
            var part = raw.Trim();
            if (part.Length == 0)
            {
                throw StoreException.BadRequest($"unable to parse requirement: found '', expected: identifier");
            }

            requirements.Add(ParseRequirement(part));
        }

        return new LabelSelector(requirements);
    }

    /// <summary>Whether the labels satisfy every requirement.</summary>
    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return _requirements.All(r => r.Matches(labels));
    }

    private static Requirement ParseRequirement(string part)
    {
        if (part.StartsWith('!'))
        {
            return new Requirement(CheckKey(part[1..].Trim()), "!", []);
        }

        foreach (var op in new[] { "!=", "==", "=" })
        {
            var at = part.IndexOf(op, StringComparison.Ordinal);
            if (at > 0)
            {
                var key = CheckKey(part[..at].Trim());
                var value = part[(at + op.Length)..].Trim();
                CheckValue(value);
                return new Requirement(key, op == "!=" ? "!=" : "=", [value]);
            }
        }

        var words = part.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length == 1)
        {
            return new Requirement(CheckKey(words[0]), "exists", []);
        }

        var rest = words[1];
        string setOp;
        if (rest.StartsWith("notin", StringComparison.Ordinal))
        {
            setOp = "notin";
        }
        else if (rest.StartsWith("in", StringComparison.Ordinal))
        {
            setOp = "in";
        }
        else
        {
            throw StoreException.BadRequest($"unable to parse requirement: found '{rest}', expected: in, notin, =, ==, !=, gt, lt");
        }

        var set = rest[setOp.Length..].Trim();
        if (!set.StartsWith('(') || !set.EndsWith(')'))
        {
            throw StoreException.BadRequest($"unable to parse requirement: found '{set}', expected: '('");
        }

        var values = set[1..^1].Split(',', StringSplitOptions.TrimEntries).Where(v => v.Length > 0).ToList();
        if (values.Count == 0)
        {
            throw StoreException.BadRequest($"unable to parse requirement: for 'in', 'notin' operators, values set can't be empty");
        }

        values.ForEach(CheckValue);
        return new Requirement(CheckKey(words[0]), setOp, values);
    }

    private static string CheckKey(string key)
    {
        var errors = Validation.NameRules.QualifiedName(key);
        if (errors.Count > 0)
        {
            throw StoreException.BadRequest($"unable to parse requirement: values[0][{key}]: Invalid value: \"{key}\": {errors[0]}");
        }

        return key;
    }

    private static void CheckValue(string value)
    {
        var errors = Validation.NameRules.LabelValue(value);
        if (errors.Count > 0)
        {
            throw StoreException.BadRequest($"unable to parse requirement: values[0][value]: Invalid value: \"{value}\": {errors[0]}");
        }
    }

    private static List<string> SplitTopLevel(string text)
    {
        var parts = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    parts.Add(text[start..i]);
                    start = i + 1;
                    break;
            }
        }

        parts.Add(text[start..]);
        return parts;
    }

    private sealed record Requirement(string Key, string Operator, IReadOnlyList<string> Values)
    {
        public bool Matches(IReadOnlyDictionary<string, string> labels)
        {
            var has = labels.TryGetValue(Key, out var value);
            return Operator switch
            {
                "exists" => has,
                "!" => !has,
                "=" or "in" => has && Values.Contains(value!),
                "!=" or "notin" => !has || !Values.Contains(value!),
                _ => false,
            };
        }
    }
}
