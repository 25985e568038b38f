using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace VisionPlatform.Training.Subprocess.Native;

/// <summary>
/// The per-run marker: a random value (128 bits, 32 hex digits) put in the environment of the run's supervisor and
/// trainer as <c>VP_RUN_MARKER</c> and recorded in the run's <c>state.json</c> (0600, in a 0700 directory). A process
/// proves it belongs to the run when <c>/proc/&lt;pid&gt;/environ</c> carries it, which only processes of the same user
/// can be read for; a planted state file cannot name the marker of a run it cannot read.
/// </summary>
internal static class RunMarker
{
    /// <summary>The environment variable.</summary>
    public const string Variable = "VP_RUN_MARKER";

    /// <summary>A new marker.</summary>
    public static string New() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>Whether a marker read from disk has the shape of one this executor creates.</summary>
    /// <param name="marker">The marker.</param>
    public static bool IsWellFormed(string? marker) =>
        marker is { Length: 32 } && marker.All(char.IsAsciiHexDigitLower);

    /// <summary>Whether a live process's environment carries the marker.</summary>
    /// <param name="pid">The process.</param>
    /// <param name="marker">The marker.</param>
    public static bool Carries(int pid, string? marker)
    {
        if (pid <= 1 || !IsWellFormed(marker))
        {
            return false;
        }

        byte[] environ;
        try
        {
            environ = File.ReadAllBytes("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/environ");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        var needle = Encoding.ASCII.GetBytes(Variable + "=" + marker);
        var span = environ.AsSpan();
        while (span.Length >= needle.Length)
        {
            var end = span.IndexOf((byte)0);
            var entry = end < 0 ? span : span[..end];
            if (entry.SequenceEqual(needle))
            {
                return true;
            }

            if (end < 0)
            {
                break;
            }

            span = span[(end + 1)..];
        }

        return false;
    }
}
