using System.Globalization;
using System.Text.RegularExpressions;

namespace VisionPlatform.Training;

/// <summary>
/// Parses Kubernetes quantity strings (<c>500m</c>, <c>2</c>, <c>8Gi</c>, <c>1e3</c>) so that configs are checked
/// before anything reaches a cluster. Only what validation needs: syntax and a comparable value.
/// </summary>
public static partial class ResourceQuantity
{
    private static readonly Dictionary<string, decimal> Suffixes = new(StringComparer.Ordinal)
    {
        [""] = 1m,
        ["n"] = 0.000000001m,
        ["u"] = 0.000001m,
        ["m"] = 0.001m,
        ["k"] = 1_000m,
        ["M"] = 1_000_000m,
        ["G"] = 1_000_000_000m,
        ["T"] = 1_000_000_000_000m,
        ["P"] = 1_000_000_000_000_000m,
        ["E"] = 1_000_000_000_000_000_000m,
        ["Ki"] = 1024m,
        ["Mi"] = 1024m * 1024,
        ["Gi"] = 1024m * 1024 * 1024,
        ["Ti"] = 1024m * 1024 * 1024 * 1024,
        ["Pi"] = 1024m * 1024 * 1024 * 1024 * 1024,
        ["Ei"] = 1024m * 1024 * 1024 * 1024 * 1024 * 1024,
    };

    /// <summary>The rule quoted in validation messages.</summary>
    public const string Rule =
        "must be a Kubernetes quantity: a non-negative number with an optional suffix (n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei) or exponent, for example '500m', '2', '8Gi'";

    /// <summary>Parses a quantity into its numeric value.</summary>
    public static bool TryParse(string? text, out decimal value)
    {
        value = 0;
        if (string.IsNullOrEmpty(text) || text.Length > 64)
        {
            return false;
        }

        var match = Pattern().Match(text);
        if (!match.Success)
        {
            return false;
        }

        if (!decimal.TryParse(match.Groups["num"].Value, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        try
        {
            var exponent = match.Groups["exp"].Value;
            if (exponent.Length > 0)
            {
                var power = int.Parse(exponent.AsSpan(1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                if (power is < -18 or > 18)
                {
                    return false;
                }

                value = number * (decimal)Math.Pow(10, power);
            }
            else
            {
                value = number * Suffixes[match.Groups["suffix"].Value];
            }
        }
        catch (OverflowException)
        {
            return false;
        }

        return value >= 0;
    }

    [GeneratedRegex(@"^(?<num>\+?(\d+(\.\d*)?|\.\d+))((?<exp>[eE][+-]?\d+)|(?<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
