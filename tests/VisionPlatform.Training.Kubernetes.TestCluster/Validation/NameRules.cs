using System.Text.RegularExpressions;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>
/// The apimachinery name rules (pkg/util/validation), returning the real error details. An empty list means valid.
/// </summary>
public static partial class NameRules
{
    private const string Dns1123LabelFormat = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
    private const string Dns1035LabelFormat = "[a-z]([-a-z0-9]*[a-z0-9])?";
    private const string Dns1123SubdomainFormat = Dns1123LabelFormat + "(\\." + Dns1123LabelFormat + ")*";
    private const string QualifiedNameFormat = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
    private const string LabelValueFormat = "(" + QualifiedNameFormat + ")?";
    private const string EnvVarNameFormat = "[-._a-zA-Z][-._a-zA-Z0-9]*";

    /// <summary>The maximum length of a label value or name part.</summary>
    public const int LabelValueMaxLength = 63;

    /// <summary>A DNS-1123 label: ≤63, <c>[a-z0-9]([-a-z0-9]*[a-z0-9])?</c>.</summary>
    public static IReadOnlyList<string> Dns1123Label(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var errors = new List<string>();
        if (value.Length > 63)
        {
            errors.Add(MaxLen(63));
        }

        if (!Dns1123LabelRegex().IsMatch(value))
        {
            errors.Add(RegexError(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
                Dns1123LabelFormat, "my-name", "123-abc"));
        }

        return errors;
    }

    /// <summary>A DNS-1035 label (Service names): ≤63, <c>[a-z]([-a-z0-9]*[a-z0-9])?</c>.</summary>
    public static IReadOnlyList<string> Dns1035Label(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var errors = new List<string>();
        if (value.Length > 63)
        {
            errors.Add(MaxLen(63));
        }

        if (!Dns1035LabelRegex().IsMatch(value))
        {
            errors.Add(RegexError(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
                Dns1035LabelFormat, "my-name", "abc-123"));
        }

        return errors;
    }

    /// <summary>An IANA service name (named ports): ≤15, lower-case alphanumerics and '-', a letter, no '--', no '-' at either end.</summary>
    public static IReadOnlyList<string> IanaServiceName(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var errors = new List<string>();
        if (value.Length > 15)
        {
            errors.Add(MaxLen(15));
        }

        if (!value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
        {
            errors.Add("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
        }

        if (value.Contains("--", StringComparison.Ordinal))
        {
            errors.Add("must not contain consecutive hyphens");
        }

        if (!value.Any(c => c is >= 'a' and <= 'z'))
        {
            errors.Add("must contain at least one letter (a-z)");
        }

        if (value.StartsWith('-') || value.EndsWith('-'))
        {
            errors.Add("must not begin or end with a hyphen");
        }

        return errors;
    }

    /// <summary>A DNS-1123 subdomain: ≤253, dot-separated labels.</summary>
    public static IReadOnlyList<string> Dns1123Subdomain(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var errors = new List<string>();
        if (value.Length > 253)
        {
            errors.Add(MaxLen(253));
        }

        if (!Dns1123SubdomainRegex().IsMatch(value))
        {
            errors.Add(RegexError(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
                Dns1123SubdomainFormat, "example.com"));
        }

        return errors;
    }

    /// <summary>A qualified name (label and annotation keys): optional DNS subdomain prefix, '/', name part ≤63.</summary>
    public static IReadOnlyList<string> QualifiedName(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var errors = new List<string>();
        var parts = value.Split('/');
        string name;
        switch (parts.Length)
        {
            case 1:
                name = parts[0];
                break;
            case 2:
                var prefix = parts[0];
                name = parts[1];
                if (prefix.Length == 0)
                {
                    errors.Add("prefix part " + EmptyError());
                }
                else
                {
                    errors.AddRange(Dns1123Subdomain(prefix).Select(e => "prefix part " + e));
                }

                break;
            default:
                return
                [
                    "a qualified name " + RegexError(
                        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                        QualifiedNameFormat, "MyName", "my.name", "123-abc")
                    + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                ];
        }

        if (name.Length == 0)
        {
            errors.Add("name part " + EmptyError());
        }
        else if (name.Length > LabelValueMaxLength)
        {
            errors.Add("name part " + MaxLen(LabelValueMaxLength));
        }

        if (name.Length > 0 && !QualifiedNameRegex().IsMatch(name))
        {
            errors.Add("name part " + RegexError(
                "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                QualifiedNameFormat, "MyName", "my.name", "123-abc"));
        }

        return errors;
    }

    /// <summary>A label value: empty, or ≤63 alphanumerics with '-', '_', '.' inside.</summary>
    public static IReadOnlyList<string> LabelValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var errors = new List<string>();
        if (value.Length > LabelValueMaxLength)
        {
            errors.Add(MaxLen(LabelValueMaxLength));
        }

        if (!LabelValueRegex().IsMatch(value))
        {
            errors.Add(RegexError(
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                LabelValueFormat, "MyValue", "my_value", "12345"));
        }

        return errors;
    }

    /// <summary>An environment variable name under the strict (pre-1.32) rule.</summary>
    public static IReadOnlyList<string> StrictEnvVarName(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var errors = new List<string>();
        if (!EnvVarNameRegex().IsMatch(value))
        {
            errors.Add(RegexError(
                "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
                EnvVarNameFormat, "my.env-name", "MY_ENV.NAME", "MyEnvName1"));
        }

        errors.AddRange(DotRules(value));
        return errors;
    }

    /// <summary>An environment variable name under the relaxed rule (RelaxedEnvironmentVariableValidation, GA in 1.34).</summary>
    public static IReadOnlyList<string> RelaxedEnvVarName(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Length > 0 && value.All(c => c is >= ' ' and <= '~' && c != '=')
            ? []
            : ["a valid environment variable name must consist only of printable ASCII characters other than '='"];
    }

    /// <summary>A ConfigMap or Secret data key.</summary>
    public static IReadOnlyList<string> ConfigMapKey(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var errors = new List<string>();
        if (value.Length > 253)
        {
            errors.Add(MaxLen(253));
        }

        if (!ConfigMapKeyRegex().IsMatch(value))
        {
            errors.Add(RegexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                "[-._a-zA-Z0-9]+", "key.name", "KEY_NAME", "key-name"));
        }

        errors.AddRange(DotRules(value));
        return errors;
    }

    private static IEnumerable<string> DotRules(string value)
    {
        if (value == ".")
        {
            yield return "must not be '.'";
        }
        else if (value == "..")
        {
            yield return "must not be '..'";
        }
        else if (value.StartsWith("..", StringComparison.Ordinal))
        {
            yield return "must not start with '..'";
        }
    }

    /// <summary>"must be no more than N characters".</summary>
    public static string MaxLen(int length) => $"must be no more than {length} characters";

    private static string EmptyError() => "must be non-empty";

    private static string RegexError(string message, string format, params string[] examples)
    {
        var text = message;
        if (examples.Length > 0)
        {
            text += " (e.g. " + string.Join(",  or ", examples.Select(e => $"'{e}'")) + ", ";
        }
        else
        {
            text += " (";
        }

        return text + $"regex used for validation is '{format}')";
    }

    [GeneratedRegex("^" + Dns1123LabelFormat + "$")]
    private static partial Regex Dns1123LabelRegex();

    [GeneratedRegex("^" + Dns1035LabelFormat + "$")]
    private static partial Regex Dns1035LabelRegex();

    [GeneratedRegex("^" + Dns1123SubdomainFormat + "$")]
    private static partial Regex Dns1123SubdomainRegex();

    [GeneratedRegex("^" + QualifiedNameFormat + "$")]
    private static partial Regex QualifiedNameRegex();

    [GeneratedRegex("^" + LabelValueFormat + "$")]
    private static partial Regex LabelValueRegex();

    [GeneratedRegex("^" + EnvVarNameFormat + "$")]
    private static partial Regex EnvVarNameRegex();

    [GeneratedRegex("^[-._a-zA-Z0-9]+$")]
    private static partial Regex ConfigMapKeyRegex();
}
