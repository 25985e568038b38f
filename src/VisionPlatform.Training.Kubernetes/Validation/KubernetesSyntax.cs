using System.Diagnostics.CodeAnalysis;
using System.Buffers;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The apiserver's syntax rules (apimachinery <c>pkg/util/validation</c>) as plain predicates, shared by the options
/// validator and the Job validator so both reject exactly what a cluster would.
/// </summary>
internal static class KubernetesSyntax
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

    // Span checks rather than regular expressions: they run on every start for every name, label, annotation and
    // environment variable, and they match the whole text (a regex's '$' would also accept a trailing newline).
    private static readonly SearchValues<char> LowerAlphanumeric = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789");
    private static readonly SearchValues<char> DnsLabelChars = SearchValues.Create("-abcdefghijklmnopqrstuvwxyz0123456789");
    private static readonly SearchValues<char> QualifiedNameChars = SearchValues.Create("-_.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");

    public static bool IsDnsLabel([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 and <= 63 } && IsDnsLabelSyntax(value);

    public static bool IsDnsSubdomain([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 and <= 253 } && IsDnsSubdomainSyntax(value);

    /// <summary>Label keys, annotation keys (checked in lower case), toleration keys, resource names.</summary>
    public static bool IsQualifiedName([NotNullWhen(true)] string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        ReadOnlySpan<char> name = value;
        var slash = name.IndexOf('/');
        if (slash >= 0)
        {
            var prefix = name[..slash];
            name = name[(slash + 1)..];
            if (name.Contains('/') || prefix.Length is 0 or > 253 || !IsDnsSubdomainSyntax(prefix))
            {
                return false;
            }
        }

        return name.Length is > 0 and <= 63 && IsQualifiedNamePart(name);
    }

    public static bool IsLabelValue([NotNullWhen(true)] string? value) =>
        value is not null && (value.Length == 0 || (value.Length <= 63 && IsQualifiedNamePart(value)));

    /// <summary>The strict (portable) environment variable name rule, so Jobs also run on clusters older than 1.32.</summary>
    public static bool IsEnvVarName([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 } && value != "." && !value.StartsWith("..", StringComparison.Ordinal) &&
        !char.IsAsciiDigit(value[0]) && !value.AsSpan().ContainsAnyExcept(QualifiedNameChars);

    public static bool IsConfigMapKey([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 and <= 253 } && value is not ("." or "..") && !value.AsSpan().ContainsAnyExcept(QualifiedNameChars);

    /// <summary>Parses a quantity into its value (syntax as the apiserver's decoder accepts it, non-negative).</summary>
    public static bool TryParseQuantity(string? text, out decimal value) => ResourceQuantity.TryParse(text, out value);

    /// <summary><c>[a-z0-9]([-a-z0-9]*[a-z0-9])?</c>, without the length limit.</summary>
    private static bool IsDnsLabelSyntax(ReadOnlySpan<char> value) =>
        value.Length > 0 && LowerAlphanumeric.Contains(value[0]) && LowerAlphanumeric.Contains(value[^1]) &&
        !value.ContainsAnyExcept(DnsLabelChars);

    /// <summary>DNS labels (<see cref="IsDnsLabelSyntax"/>) joined by '.', without the length limit.</summary>
    private static bool IsDnsSubdomainSyntax(ReadOnlySpan<char> value)
    {
        foreach (var part in value.Split('.'))
        {
            if (!IsDnsLabelSyntax(value[part]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><c>[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?</c>.</summary>
    private static bool IsQualifiedNamePart(ReadOnlySpan<char> value) =>
        value.Length > 0 && char.IsAsciiLetterOrDigit(value[0]) && char.IsAsciiLetterOrDigit(value[^1]) &&
        !value.ContainsAnyExcept(QualifiedNameChars);
}
