using System.ComponentModel.DataAnnotations;

namespace VisionPlatform.Training.Backend.Security;

/// <summary>Request limits (<c>Backend:Limits</c>).</summary>
public sealed class BackendLimitsOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Backend:Limits";

    /// <summary>
    /// The largest <c>advancedConfig</c>, in UTF-8 bytes of compact JSON: what one Linux argument can carry (128 KiB less
    /// the terminator and the <c>--advanced-config=</c> flag), the limit the SDK's flags contract checks at launch.
    /// </summary>
    public const int MaxAdvancedConfigBytes = (128 * 1024) - 1 - 18;

    /// <summary>The largest <c>POST /runs</c> body in bytes (default 256 KiB); larger answers 413.</summary>
    [Range(1024, 16 * 1024 * 1024, ErrorMessage = "Backend:Limits:MaxStartBodyBytes must be between 1024 and 16777216.")]
    public long MaxStartBodyBytes { get; set; } = 256 * 1024;

    /// <summary>Event streams one caller (token subject) may hold open at once (default 4); one more answers 429.</summary>
    [Range(1, 1000, ErrorMessage = "Backend:Limits:MaxEventStreamsPerCaller must be between 1 and 1000.")]
    public int MaxEventStreamsPerCaller { get; set; } = 4;
}
