using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace VisionPlatform.Training.Storage;

/// <summary>
/// Turns job ids (which may contain any character) into one safe object-key segment and back.
/// <list type="bullet">
/// <item>ASCII letters, digits, <c>-</c>, <c>_</c> and <c>.</c> are kept (a leading <c>.</c> is escaped, so no segment is <c>.</c> or <c>..</c>).</item>
/// <item>Every other character is written as its UTF-8 bytes, each as <c>~XX</c> (uppercase hex). <c>~</c> itself becomes <c>~7E</c>, so the mapping is reversible.</item>
/// <item>When the escaped form would exceed <see cref="MaxEscapedLength"/> characters, the segment is its first readable part,
/// then <c>~h</c> and the SHA-256 of the job id (64 lowercase hex digits): unique, not reversible. <c>~h</c> never occurs in
/// an escaped id because escapes use uppercase hex digits only.</item>
/// </list>
/// </summary>
public static class ArtifactKeys
{
    /// <summary>The longest escaped segment before the hashed form is used.</summary>
    public const int MaxEscapedLength = 200;

    private const int HashedReadablePrefixLength = 100;

    /// <summary>Returns the key segment for a job id.</summary>
    /// <param name="jobId">The job id; any non-empty text.</param>
    /// <returns>The segment, made of <c>[A-Za-z0-9._~-]</c> only.</returns>
    public static string EscapeJobId(string jobId)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        if (!IsWellFormedUtf16(jobId))
        {
            // A lone surrogate has no UTF-8 form; two different ones would map to the same key.
            throw new ArgumentException("The job id contains a lone surrogate character: it must be well-formed UTF-16 text.", nameof(jobId));
        }

        var escaped = Escape(jobId);
        if (escaped.Length <= MaxEscapedLength)
        {
            return escaped;
        }

        // Cut the readable part at an escape boundary so that it never ends inside a '~XX'.
        var cut = HashedReadablePrefixLength;
        var tilde = escaped.LastIndexOf('~', cut - 1, Math.Min(cut, 3));
        if (tilde >= 0)
        {
            cut = tilde;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(jobId)));
        return string.Concat(escaped.AsSpan(0, cut), "~h", hash);
    }

    /// <summary>Recovers the job id from a key segment made by <see cref="EscapeJobId"/>.</summary>
    /// <param name="segment">The key segment.</param>
    /// <param name="jobId">The job id, when the segment is an escaped (not hashed) form.</param>
    /// <returns><see langword="false"/> for hashed or malformed segments.</returns>
    public static bool TryUnescapeJobId(string segment, out string? jobId)
    {
        jobId = null;
        if (string.IsNullOrEmpty(segment))
        {
            return false;
        }

        var bytes = new List<byte>(segment.Length);
        for (var i = 0; i < segment.Length; i++)
        {
            var c = segment[i];
            if (c == '~')
            {
                if (i + 2 >= segment.Length)
                {
                    return false;
                }

                if (!IsUpperHex(segment[i + 1]) || !IsUpperHex(segment[i + 2]))
                {
                    return false;
                }

                bytes.Add(byte.Parse(segment.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                i += 2;
            }
            else if (IsKept(c) && !(i == 0 && c == '.'))
            {
                bytes.Add((byte)c);
            }
            else
            {
                return false;
            }
        }

        try
        {
            jobId = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString([.. bytes]);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        // Only the canonical form round-trips; anything else was not made by EscapeJobId.
        if (jobId.Length == 0 || !string.Equals(Escape(jobId), segment, StringComparison.Ordinal))
        {
            jobId = null;
            return false;
        }

        return true;
    }

    /// <summary>Returns the key prefix of a run: <c>&lt;prefix&gt;/&lt;escaped job id&gt;/</c>.</summary>
    /// <param name="prefix">The configured prefix (<c>Training:Storage:Prefix</c> of the storage package); empty for the bucket root.</param>
    /// <param name="jobId">The job id.</param>
    /// <returns>The run's key prefix, ending with <c>/</c>.</returns>
    public static string RunPrefix(string prefix, string jobId)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var segment = EscapeJobId(jobId);
        return prefix.Length == 0 ? segment + "/" : $"{prefix}/{segment}/";
    }

    private static string Escape(string jobId)
    {
        var sb = new StringBuilder(jobId.Length + 8);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < jobId.Length; i++)
        {
            var c = jobId[i];
            if (IsKept(c) && !(i == 0 && c == '.'))
            {
                sb.Append(c);
                continue;
            }

            // Surrogate pairs are encoded together; lone surrogates were rejected above.
            var length = char.IsSurrogatePair(jobId, i)
                ? Encoding.UTF8.GetBytes(jobId.AsSpan(i++, 2), utf8)
                : Encoding.UTF8.GetBytes(jobId.AsSpan(i, 1), utf8);
            foreach (var b in utf8[..length])
            {
                sb.Append('~').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    private static bool IsWellFormedUtf16(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsSurrogatePair(text, i))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsKept(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';

    private static bool IsUpperHex(char c) => char.IsAsciiDigit(c) || c is >= 'A' and <= 'F';
}
