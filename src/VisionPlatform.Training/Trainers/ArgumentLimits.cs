using System.Globalization;
using System.Text;

namespace VisionPlatform.Training.Trainers;

/// <summary>
/// What one process argument or environment string can carry on Linux: <c>MAX_ARG_STRLEN</c>, 32 pages (128 KiB),
/// including the terminating NUL. A longer one makes <c>execve</c> fail with E2BIG (or the container fail to start).
/// </summary>
internal static class ArgumentLimits
{
    /// <summary>Linux <c>MAX_ARG_STRLEN</c>: 131072 bytes including the terminating NUL.</summary>
    public const int MaxArgStrLen = 128 * 1024;

    /// <summary>The most UTF-8 bytes one argument (or one <c>NAME=value</c> environment string) carries.</summary>
    public const int MaxStringBytes = MaxArgStrLen - 1;

    /// <summary>The most UTF-8 bytes of an advanced config passed as one argument: one argument minus the flag (<c>--advanced_config=</c>).</summary>
    public const int MaxAdvancedConfigArgumentBytes = MaxStringBytes - 18;

    /// <summary>The UTF-8 size of a string.</summary>
    /// <param name="value">The string.</param>
    public static int Bytes(string value) => Encoding.UTF8.GetByteCount(value);

    /// <summary>The validation error for an advanced config too large for one argument.</summary>
    /// <param name="bytes">Its size.</param>
    /// <param name="why">What the contract cannot do instead.</param>
    public static TrainingValidationException TooLarge(int bytes, string why) => new([new(
        nameof(TrainingJobConfig.AdvancedConfig),
        string.Create(CultureInfo.InvariantCulture, $"({bytes} bytes of UTF-8)"),
        string.Create(CultureInfo.InvariantCulture, $"must be at most {MaxAdvancedConfigArgumentBytes} bytes of UTF-8: one process argument carries at most {MaxArgStrLen} bytes (Linux MAX_ARG_STRLEN, 128 KiB, with its terminator) minus the flag; {why}"))]);
}
