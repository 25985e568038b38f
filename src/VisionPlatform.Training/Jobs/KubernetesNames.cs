using System.Text.RegularExpressions;

namespace VisionPlatform.Training;

/// <summary>
/// The Kubernetes syntax rules that a job's labels and environment must follow in every executor,
/// so that a job accepted by the subprocess executor is also accepted by a cluster.
/// </summary>
internal static partial class KubernetesNames
{
    public const string LabelValueRule =
        "must be at most 63 characters, empty or beginning and ending with an alphanumeric character, with '-', '_', '.' or alphanumerics between";

    public const string LabelKeyRule =
        "must be an optional DNS subdomain prefix (at most 253 characters) and '/', then a name of at most 63 characters beginning and ending with an alphanumeric character, with '-', '_', '.' or alphanumerics between";

    public const string EnvNameRule =
        "must consist of alphabetic characters, digits, '_', '-' or '.', and must not start with a digit";

    public static bool IsValidLabelValue(string value) =>
        value.Length == 0 || (value.Length <= 63 && QualifiedName().IsMatch(value));

    public static bool IsValidLabelKey(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var name = slash < 0 ? key : key[(slash + 1)..];
        if (slash >= 0)
        {
            var prefix = key[..slash];
            if (prefix.Length is 0 or > 253 || !DnsSubdomain().IsMatch(prefix))
            {
                return false;
            }
        }

        return name.Length is > 0 and <= 63 && QualifiedName().IsMatch(name);
    }

    public static bool IsValidEnvName(string name) => name.Length > 0 && EnvName().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex QualifiedName();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex("^[-._a-zA-Z][-._a-zA-Z0-9]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvName();
}
