using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The apiserver's syntax rules (apimachinery <c>pkg/util/validation</c>) as plain predicates, shared by the options
/// validator and the Job validator so both reject exactly what a cluster would.
/// </summary>
internal static partial class KubernetesSyntax
{
    public const string DnsLabelRule =
        "must be a lowercase RFC 1123 label: at most 63 characters, lower-case letters, digits or '-', starting and ending with a letter or digit";

    public const string DnsSubdomainRule =
        "must be a lowercase RFC 1123 subdomain: at most 253 characters, lower-case letters, digits, '-' or '.', each part starting and ending with a letter or digit";

    public const string QualifiedNameRule =
        "must be a qualified name: an optional DNS subdomain prefix and '/', then at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit";

    public const string LabelValueRule =
        "must be a valid label value: at most 63 characters, empty or starting and ending with a letter or digit, with '-', '_', '.' or letters and digits between";

    public const string EnvNameRule =
        "must be a valid environment variable name: letters, digits, '_', '-' or '.', not starting with a digit, and not '.', '..' or starting with '..'";

    public const string ConfigMapKeyRule =
        "must be a valid Secret or ConfigMap key: at most 253 characters of letters, digits, '-', '_' or '.', and not '.' or '..'";

    public static bool IsDnsLabel([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 and <= 63 } && DnsLabel().IsMatch(value);

    public static bool IsDnsSubdomain([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 and <= 253 } && DnsSubdomain().IsMatch(value);

    /// <summary>Label keys, annotation keys (checked in lower case), toleration keys, resource names.</summary>
    public static bool IsQualifiedName([NotNullWhen(true)] string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        var parts = value.Split('/');
        if (parts.Length > 2)
        {
            return false;
        }

        var name = parts[^1];
        if (parts.Length == 2 && !IsDnsSubdomain(parts[0]))
        {
            return false;
        }

        return name.Length is > 0 and <= 63 && QualifiedNamePart().IsMatch(name);
    }

    public static bool IsLabelValue([NotNullWhen(true)] string? value) =>
        value is not null && (value.Length == 0 || (value.Length <= 63 && QualifiedNamePart().IsMatch(value)));

    /// <summary>The strict (portable) environment variable name rule, so Jobs also run on clusters older than 1.32.</summary>
    public static bool IsEnvVarName([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 } && value != "." && !value.StartsWith("..", StringComparison.Ordinal) && EnvName().IsMatch(value);

    public static bool IsConfigMapKey([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 and <= 253 } && value is not ("." or "..") && ConfigMapKey().IsMatch(value);

    /// <summary>Parses a quantity into its value (syntax as the apiserver's decoder accepts it, non-negative).</summary>
    public static bool TryParseQuantity(string? text, out decimal value) => ResourceQuantity.TryParse(text, out value);

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex QualifiedNamePart();

    [GeneratedRegex("^[-._a-zA-Z][-._a-zA-Z0-9]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvName();

    [GeneratedRegex("^[-._a-zA-Z0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex ConfigMapKey();
}
