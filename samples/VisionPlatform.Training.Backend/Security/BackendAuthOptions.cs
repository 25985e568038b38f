using System.ComponentModel.DataAnnotations;

namespace VisionPlatform.Training.Backend.Security;

/// <summary>
/// Who may call the API (<c>Backend:Auth</c>). Every endpoint but <c>/health</c> needs a JWT bearer token with a
/// <see cref="ProjectClaim"/> claim. The sample validates tokens it signs itself with <see cref="SigningKey"/>; a real
/// deployment sets <see cref="Authority"/> (the platform's OpenID Connect issuer) instead, and the key is then unused.
/// </summary>
public sealed class BackendAuthOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Backend:Auth";

    /// <summary>The claim naming the caller's project: runs are visible and stoppable only within it.</summary>
    public const string ProjectClaim = "project";

    /// <summary>The expected <c>iss</c> (default <c>visionplatform-training-backend</c>).</summary>
    [Required]
    public string Issuer { get; set; } = "visionplatform-training-backend";

    /// <summary>The expected <c>aud</c> (default <c>visionplatform-training</c>).</summary>
    [Required]
    public string Audience { get; set; } = "visionplatform-training";

    /// <summary>
    /// The HMAC-SHA256 key (at least 32 characters) the sample signs and checks tokens with. Empty: a random key for this
    /// process only (the dev token printed at start-up is then the only token that works). Keep a real key out of files:
    /// <c>Backend__Auth__SigningKey</c> in the environment or user secrets.
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>The platform's OpenID Connect authority (for example <c>https://login.example/realms/vision</c>); when set, tokens are checked against its published keys and <see cref="SigningKey"/> is not used.</summary>
    public string? Authority { get; set; }

    /// <summary>The project of the dev token printed at start-up in the Development environment (none when empty).</summary>
    public string? DevProject { get; set; }
}
