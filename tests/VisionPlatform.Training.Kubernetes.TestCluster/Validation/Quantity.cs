using System.Globalization;
using System.Text;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>
/// A resource quantity as apimachinery parses and canonicalizes it (pkg/api/resource/quantity.go): the value,
/// rounded up to milli precision, and the canonical string (<c>1.5</c> → <c>1500m</c>, <c>1.5Gi</c> → <c>1536Mi</c>).
/// </summary>
public readonly record struct Quantity(decimal Value, string Canonical)
{
    /// <summary>The grammar every quantity must match.</summary>
    public const string Pattern = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

    /// <summary>The parse error for a malformed quantity.</summary>
    public const string FormatError = "quantities must match the regular expression '" + Pattern + "'";

    /// <summary>The parse error for an unknown suffix.</summary>
    public const string SuffixError = "unable to parse quantity's suffix";

    private enum Format
    {
        DecimalSI,
        BinarySI,
        DecimalExponent,
    }

    /// <summary>Parses a quantity; the error is the apimachinery message, or null on success.</summary>
    public static bool TryParse(string text, out Quantity quantity, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        quantity = default;
        error = FormatError;
        var pos = 0;
        var negative = false;
        if (pos < text.Length && text[pos] is '+' or '-')
        {
            negative = text[pos] == '-';
            pos++;
        }

        var numberStart = pos;
        var seenDot = false;
        var digits = 0;
        while (pos < text.Length && (char.IsAsciiDigit(text[pos]) || (text[pos] == '.' && !seenDot)))
        {
            seenDot |= text[pos] == '.';
            digits += text[pos] == '.' ? 0 : 1;
            pos++;
        }

        if (digits == 0)
        {
            return false;
        }

        var number = text[numberStart..pos];
        var suffixStart = pos;
        while (pos < text.Length && "eEinumkKMGTP".Contains(text[pos], StringComparison.Ordinal))
        {
            pos++;
        }

        if (pos < text.Length)
        {
            // Only an exponent may follow: [-+]?[0-9]+ after e/E.
            if (text[pos] is '+' or '-')
            {
                pos++;
            }

            var expDigits = pos;
            while (pos < text.Length && char.IsAsciiDigit(text[pos]))
            {
                pos++;
            }

            if (pos < text.Length || pos == expDigits)
            {
                return false;
            }
        }

        var suffix = text[suffixStart..];
        if (!TryInterpretSuffix(suffix, out var multiplier, out var format))
        {
            error = SuffixError;
            return false;
        }

        decimal value;
        try
        {
            value = decimal.Parse(number.Length > 0 && number[0] == '.' ? "0" + number : number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture) * multiplier;
        }
        catch (OverflowException)
        {
            return false;
        }

        if (negative)
        {
            value = -value;
        }

        // More precise than milli is rounded up to milli (0.1m → 1m).
        value = Math.Ceiling(value * 1000m) / 1000m;
        quantity = new Quantity(value, Canonicalize(value, format));
        error = null;
        return true;
    }

    private static bool TryInterpretSuffix(string suffix, out decimal multiplier, out Format format)
    {
        format = Format.DecimalSI;
        multiplier = suffix switch
        {
            "" => 1m,
            "n" => 0.000000001m,
            "u" => 0.000001m,
            "m" => 0.001m,
            "k" => 1_000m,
            "M" => 1_000_000m,
            "G" => 1_000_000_000m,
            "T" => 1_000_000_000_000m,
            "P" => 1_000_000_000_000_000m,
            "E" => 1_000_000_000_000_000_000m,
            _ => 0m,
        };
        if (multiplier != 0m)
        {
            return true;
        }

        format = Format.BinarySI;
        multiplier = suffix switch
        {
            "Ki" => 1024m,
            "Mi" => 1024m * 1024,
            "Gi" => 1024m * 1024 * 1024,
            "Ti" => 1024m * 1024 * 1024 * 1024,
            "Pi" => 1024m * 1024 * 1024 * 1024 * 1024,
            "Ei" => 1024m * 1024 * 1024 * 1024 * 1024 * 1024,
            _ => 0m,
        };
        if (multiplier != 0m)
        {
            return true;
        }

        format = Format.DecimalExponent;
        if (suffix.Length > 1 && suffix[0] is 'e' or 'E'
            && int.TryParse(suffix[1..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exponent)
            && exponent is >= -18 and <= 18)
        {
            multiplier = Pow10(exponent);
            return true;
        }

        return false;
    }

    /// <summary>
    /// The canonical string of a value computed from quantities (a quota's usage): binary suffixes when
    /// <paramref name="binary"/> and the value is a whole multiple of 1024, else decimal ones.
    /// </summary>
    internal static string FormatValue(decimal value, bool binary) => Canonicalize(value, binary ? Format.BinarySI : Format.DecimalSI);

    private static string Canonicalize(decimal value, Format format)
    {
        var sign = value < 0 ? "-" : "";
        var abs = Math.Abs(value);
        if (format == Format.BinarySI && (abs < 1024m || abs != decimal.Truncate(abs)))
        {
            format = Format.DecimalSI;
        }

        if (format == Format.BinarySI)
        {
            string[] suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
            var i = 0;
            while (i < suffixes.Length - 1 && abs % 1024m == 0 && abs != 0)
            {
                abs /= 1024m;
                i++;
            }

            return sign + abs.ToString("0", CultureInfo.InvariantCulture) + suffixes[i];
        }

        // Decimal: mantissa × 10^exp with exp a multiple of 3, as large as possible without fractions.
        var exp = 0;
        var mantissa = abs;
        while (mantissa != decimal.Truncate(mantissa))
        {
            mantissa *= 1000m;
            exp -= 3;
        }

        while (mantissa != 0 && mantissa % 1000m == 0 && exp < 18)
        {
            mantissa /= 1000m;
            exp += 3;
        }

        var digits = mantissa.ToString("0", CultureInfo.InvariantCulture);
        if (format == Format.DecimalExponent)
        {
            return sign + digits + (exp == 0 ? "" : "e" + exp.ToString(CultureInfo.InvariantCulture));
        }

        var suffix = exp switch
        {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            0 => "",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            18 => "E",
            _ => "",
        };
        return new StringBuilder(sign).Append(digits).Append(suffix).ToString();
    }

    private static decimal Pow10(int exponent)
    {
        var result = 1m;
        for (var i = 0; i < Math.Abs(exponent); i++)
        {
            result = exponent > 0 ? result * 10m : result / 10m;
        }

        return result;
    }

    /// <inheritdoc />
    public override string ToString() => Canonical;
}
