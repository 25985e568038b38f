using System.Security.Cryptography;
using System.Text;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Derives Kubernetes names from the platform's job ids. The Job name is always a DNS-1123 label of at most
/// 63 characters (the Job controller copies it into the <c>job-name</c> pod label, which caps it at 63), the same
/// for the same id on every host, and different for different ids.
/// </summary>
public static class KubernetesJobNames
{
    /// <summary>The prefix of every Job name (the name the platform's Python code used).</summary>
    public const string Prefix = "training-job-";

    /// <summary>The longest name Kubernetes accepts for a Job that the Job controller labels its pods with.</summary>
    public const int MaxNameLength = 63;

    /// <summary>
    /// The longest name of a distributed job's Job and Service: its pods' hostnames are <c>&lt;name&gt;-&lt;index&gt;</c>,
    /// DNS labels of at most 63 characters, and an index has up to two digits (at most 64 nodes).
    /// </summary>
    public const int MaxGroupNameLength = MaxNameLength - 3;

    private const int HashLength = 16;

    /// <summary>
    /// Returns the Job name for a job id: <c>training-job-&lt;id&gt;</c> when the id is already a short lower-case
    /// DNS label, otherwise <c>training-job-&lt;sanitised prefix&gt;-&lt;16 hex digits of SHA-256(id)&gt;</c>.
    /// </summary>
    /// <param name="jobId">The platform's job id.</param>
    /// <returns>The Job name.</returns>
    public static string FromJobId(string jobId) => FromJobId(jobId, MaxNameLength);

    /// <summary>
    /// Returns the name of a distributed job's Job and headless Service (a torchrun group): <see cref="FromJobId(string)"/>
    /// when that is at most <see cref="MaxGroupNameLength"/> characters, otherwise the same form cut to that length, so
    /// every pod's hostname <c>&lt;name&gt;-&lt;index&gt;</c> is a valid DNS label.
    /// </summary>
    /// <param name="jobId">The platform's job id.</param>
    /// <returns>The Job and Service name.</returns>
    public static string GroupNameFromJobId(string jobId) => FromJobId(jobId, MaxGroupNameLength);

    private static string FromJobId(string jobId, int maxLength)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        if (Prefix.Length + jobId.Length <= maxLength && NameSyntax.IsDnsLabel(jobId))
        {
            return Prefix + jobId;
        }

        // The hash keeps distinct ids distinct after sanitising (upper case, '_', '.', non-ASCII) and truncation.
        var hash = Hash(jobId, HashLength);
        var room = maxLength - Prefix.Length - 1 - HashLength;
        var readable = SanitizeToDnsLabel(jobId, room);
        return readable.Length == 0 ? Prefix + hash : $"{Prefix}{readable}-{hash}";
    }

    /// <summary>
    /// Returns a valid label value for any text: the text itself when it is one, otherwise a sanitised prefix plus
    /// 8 hex digits of its hash, so that different texts keep different labels in practice.
    /// </summary>
    /// <param name="value">The text, for example a job or project id.</param>
    /// <returns>A label value of at most 63 characters.</returns>
    public static string ToLabelValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (NameSyntax.IsLabelValue(value))
        {
            return value;
        }

        const int hashLength = 8;
        var builder = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-');
        }

        var readable = TrimToAlphanumeric(builder.ToString(), MaxNameLength - 1 - hashLength);
        var hash = Hash(value, hashLength);
        return readable.Length == 0 ? hash : $"{readable}-{hash}";
    }

    private static string SanitizeToDnsLabel(string value, int maxLength)
    {
        var builder = new StringBuilder(Math.Min(value.Length, maxLength * 2));
        foreach (var c in value)
        {
            var mapped = char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-';
            if (mapped == '-' && (builder.Length == 0 || builder[^1] == '-'))
            {
                continue;
            }

            builder.Append(mapped);
            if (builder.Length >= maxLength)
            {
                break;
            }
        }

        return TrimToAlphanumeric(builder.ToString(), maxLength);
    }

    private static string TrimToAlphanumeric(string value, int maxLength)
    {
        var text = value.Length > maxLength ? value[..maxLength] : value;
        var start = 0;
        var end = text.Length;
        while (start < end && !char.IsAsciiLetterOrDigit(text[start]))
        {
            start++;
        }

        while (end > start && !char.IsAsciiLetterOrDigit(text[end - 1]))
        {
            end--;
        }

        return text[start..end];
    }

    private static string Hash(string value, int length) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..length];
}
