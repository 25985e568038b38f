using System.Buffers;
using System.Diagnostics.CodeAnalysis;

namespace VisionPlatform.Training;

/// <summary>
/// The name and label syntax of the Kubernetes API server (apimachinery <c>pkg/util/validation</c>), as plain predicates
/// that match the whole text: no trailing newline is accepted (as a regular expression's <c>$</c> would), and nothing is
/// trimmed. A job's labels and environment follow these rules on every executor, so a job one executor accepts is not
/// refused by a cluster later; executor authors can use them for the same reason.
/// </summary>
public static class NameSyntax
{
    /// <summary>What <see cref="IsDnsLabel"/> requires, for messages.</summary>
    public const string DnsLabelRule =
        "must be a lowercase RFC 1123 label: at most 63 characters, lower-case letters, digits or '-', starting and ending with a letter or digit";

    /// <summary>What <see cref="IsDnsSubdomain"/> requires, for messages.</summary>
    public const string DnsSubdomainRule =
        "must be a lowercase RFC 1123 subdomain: at most 253 characters, lower-case letters, digits, '-' or '.', each part starting and ending with a letter or digit";

    /// <summary>What <see cref="IsQualifiedName"/> (and <see cref="IsLabelKey"/>) requires, for messages.</summary>
    public const string QualifiedNameRule =
        "must be a qualified name: an optional DNS subdomain prefix and '/', then at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit";

    /// <summary>What <see cref="IsLabelKey"/> requires, for messages (the qualified name rule).</summary>
    public const string LabelKeyRule = QualifiedNameRule;

    /// <summary>What <see cref="IsLabelValue"/> requires, for messages.</summary>
    public const string LabelValueRule =
        "must be a valid label value: at most 63 characters, empty or starting and ending with a letter or digit, with '-', '_', '.' or letters and digits between";

    /// <summary>What <see cref="IsEnvironmentVariableName"/> requires, for messages.</summary>
    public const string EnvironmentVariableNameRule =
        "must be a valid environment variable name: letters, digits, '_', '-' or '.', not starting with a digit, and not '.', '..' or starting with '..'";

    /// <summary>What <see cref="IsConfigMapKey"/> requires, for messages.</summary>
    public const string ConfigMapKeyRule =
        "must be a valid Secret or ConfigMap key: at most 253 characters of letters, digits, '-', '_' or '.', and not '.' or '..'";

    private static readonly SearchValues<char> LowerAlphanumeric = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789");
    private static readonly SearchValues<char> DnsLabelChars = SearchValues.Create("-abcdefghijklmnopqrstuvwxyz0123456789");
    private static readonly SearchValues<char> QualifiedNameChars = SearchValues.Create("-_.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");

    /// <summary>A DNS-1123 label: <c>[a-z0-9]([-a-z0-9]*[a-z0-9])?</c>, 1 to 63 characters (namespaces, container and Job names).</summary>
    /// <param name="value">The text.</param>
    /// <returns>Whether it is valid.</returns>
    public static bool IsDnsLabel([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 and <= 63 } && IsDnsLabelSyntax(value);

    /// <summary>A DNS-1123 subdomain: DNS labels joined by '.', 1 to 253 characters (object names, label key prefixes).</summary>
    /// <param name="value">The text.</param>
    /// <returns>Whether it is valid.</returns>
    public static bool IsDnsSubdomain([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 and <= 253 } && IsDnsSubdomainSyntax(value);

    /// <summary>
    /// A qualified name: an optional DNS subdomain prefix (at most 253 characters) and one '/', then a name of 1 to 63
    /// characters matching <c>([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]</c> (label and annotation keys, resource names).
    /// </summary>
    /// <param name="value">The text.</param>
    /// <returns>Whether it is valid.</returns>
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

    /// <summary>A label key: a qualified name (<see cref="IsQualifiedName"/>).</summary>
    /// <param name="value">The text.</param>
    /// <returns>Whether it is valid.</returns>
    public static bool IsLabelKey([NotNullWhen(true)] string? value) => IsQualifiedName(value);

    /// <summary>A label value: empty, or 1 to 63 characters matching <c>([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]</c>.</summary>
    /// <param name="value">The text.</param>
    /// <returns>Whether it is valid.</returns>
    public static bool IsLabelValue([NotNullWhen(true)] string? value) =>
        value is not null && (value.Length == 0 || (value.Length <= 63 && IsQualifiedNamePart(value)));

    /// <summary>
    /// An environment variable name under the apiserver's strict (C-identifier-like) rule,
    /// <c>[-._a-zA-Z][-._a-zA-Z0-9]*</c> and not <c>.</c>, <c>..</c> or starting with <c>..</c>: every cluster accepts it,
    /// also those older than 1.32 (newer ones accept any printable name but '=').
    /// </summary>
    /// <param name="value">The text.</param>
    /// <returns>Whether it is valid.</returns>
    public static bool IsEnvironmentVariableName([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 } && value != "." && !value.StartsWith("..", StringComparison.Ordinal) &&
        !char.IsAsciiDigit(value[0]) && !value.AsSpan().ContainsAnyExcept(QualifiedNameChars);

    /// <summary>A Secret or ConfigMap key: 1 to 253 characters of letters, digits, '-', '_' or '.', and not <c>.</c> or <c>..</c>.</summary>
    /// <param name="value">The text.</param>
    /// <returns>Whether it is valid.</returns>
    public static bool IsConfigMapKey([NotNullWhen(true)] string? value) =>
        value is { Length: > 0 and <= 253 } && value is not ("." or "..") && !value.AsSpan().ContainsAnyExcept(QualifiedNameChars);

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
