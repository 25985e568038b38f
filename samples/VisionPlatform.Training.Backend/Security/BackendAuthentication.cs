using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace VisionPlatform.Training.Backend.Security;

/// <summary>
/// JWT bearer authentication for the sample and the policy every endpoint falls back to: an authenticated caller with a
/// <see cref="BackendAuthOptions.ProjectClaim"/> claim. <see cref="MintToken"/> makes tokens for development and tests.
/// </summary>
internal static partial class BackendAuthentication
{
    public static IServiceCollection AddBackendAuthentication(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var options = configuration.GetSection(BackendAuthOptions.SectionName).Get<BackendAuthOptions>() ?? new BackendAuthOptions();
        if (string.IsNullOrEmpty(options.Authority))
        {
            if (string.IsNullOrEmpty(options.SigningKey))
            {
                // No key configured: one for this process only, so no token minted elsewhere is ever accepted.
                options.SigningKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            }
            else if (options.SigningKey.Length < 32)
            {
                throw new InvalidOperationException("Backend:Auth:SigningKey must be at least 32 characters (or set Backend:Auth:Authority to use the platform's issuer).");
            }
        }

        services.AddSingleton(Options.Create(options));
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(jwt =>
        {
            jwt.MapInboundClaims = false;
            jwt.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = options.Issuer,
                ValidAudience = options.Audience,
                ValidateIssuer = true,
                ValidateAudience = true,
                ValidateLifetime = true,
                RequireExpirationTime = true,
                ClockSkew = TimeSpan.FromSeconds(30),
            };
            if (!string.IsNullOrEmpty(options.Authority))
            {
                // The platform's issuer: keys come from its OpenID Connect discovery document.
                jwt.Authority = options.Authority;
                jwt.RequireHttpsMetadata = !environment.IsDevelopment();
            }
            else
            {
                jwt.TokenValidationParameters.IssuerSigningKey = Key(options.SigningKey!);
                jwt.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
            }
        });
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(JwtBearerDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .RequireClaim(BackendAuthOptions.ProjectClaim)
                .Build());
        return services;
    }

    /// <summary>The caller's project (the fallback policy guarantees the claim on every endpoint that is not anonymous).</summary>
    public static string Project(this ClaimsPrincipal user) =>
        user.FindFirstValue(BackendAuthOptions.ProjectClaim) is { Length: > 0 } project
            ? project
            : throw new InvalidOperationException("The caller has no project claim.");

    /// <summary>The caller's identity for per-caller limits: its subject, else its project.</summary>
    public static string Caller(this ClaimsPrincipal user) =>
        (user.FindFirstValue(JwtRegisteredClaimNames.Sub) is { Length: > 0 } sub ? "sub:" + sub : null) ?? "project:" + user.Project();

    /// <summary>A token signed with the sample's key, for <paramref name="project"/>.</summary>
    public static string MintToken(BackendAuthOptions options, string project, TimeSpan lifetime, TimeProvider time, string? subject = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.SigningKey))
        {
            throw new InvalidOperationException("Tokens can only be minted with Backend:Auth:SigningKey, not with an external authority.");
        }

        var now = time.GetUtcNow();
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = options.Issuer,
            Audience = options.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = now.Add(lifetime).UtcDateTime,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = subject ?? "dev-" + project,
                [BackendAuthOptions.ProjectClaim] = project,
            },
            SigningCredentials = new SigningCredentials(Key(options.SigningKey), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    /// <summary>In Development, prints a token for <see cref="BackendAuthOptions.DevProject"/> once the app has started.</summary>
    public static void PrintDevToken(WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<BackendAuthOptions>>().Value;
        if (!app.Environment.IsDevelopment() || string.IsNullOrEmpty(options.DevProject) || !string.IsNullOrEmpty(options.Authority))
        {
            return;
        }

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var token = MintToken(options, options.DevProject, TimeSpan.FromHours(8), app.Services.GetRequiredService<TimeProvider>());
            LogDevToken(app.Logger, options.DevProject, token);
        });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Development token for project '{Project}' (8 hours): export TOKEN={Token}")]
    private static partial void LogDevToken(ILogger logger, string project, string token);

    private static SymmetricSecurityKey Key(string key) => new(Encoding.UTF8.GetBytes(key));
}
