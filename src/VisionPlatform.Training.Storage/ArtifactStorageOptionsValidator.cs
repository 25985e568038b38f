using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Storage;

/// <summary>Validates <see cref="ArtifactStorageOptions"/>; every message names the configuration key and the rule, never a secret value.</summary>
internal sealed partial class ArtifactStorageOptionsValidator(string sectionPath) : IValidateOptions<ArtifactStorageOptions>
{
    public ValidateOptionsResult Validate(string? name, ArtifactStorageOptions options)
    {
        var errors = Collect(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every problem (used when the store is built without DI).</summary>
    public void ThrowIfInvalid(ArtifactStorageOptions options)
    {
        var errors = Collect(options);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(ArtifactStorageOptions), errors);
        }
    }

    private List<string> Collect(ArtifactStorageOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var p = sectionPath;
        var errors = new List<string>();

        if (string.IsNullOrWhiteSpace(o.Bucket))
        {
            errors.Add($"{p}:Bucket is required: name the bucket that holds training artifacts.");
        }
        else if (!BucketName().IsMatch(o.Bucket) || o.Bucket.Contains("..", StringComparison.Ordinal))
        {
            errors.Add($"{p}:Bucket is '{o.Bucket}': bucket names are 3-63 characters of lowercase letters, digits, '.' and '-', beginning and ending with a letter or digit.");
        }

        if (o.ServiceUrl is not null &&
            (!Uri.TryCreate(o.ServiceUrl, UriKind.Absolute, out var url) ||
             (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps) ||
             url.Query.Length > 0 || url.Fragment.Length > 0 || url.UserInfo.Length > 0))
        {
            errors.Add($"{p}:ServiceUrl is '{ServiceUrlRedaction.Redact(o.ServiceUrl)}': it must be an absolute http or https URL without user info, query or fragment (for example https://<account>.r2.cloudflarestorage.com).");
        }

        if (string.IsNullOrWhiteSpace(o.Region) || !RegionName().IsMatch(o.Region))
        {
            errors.Add($"{p}:Region is '{o.Region}': it must be a region name of lowercase letters, digits and '-' (for example 'us-east-1', or 'auto' for Cloudflare R2).");
        }

        if (o.AuthenticationRegion is not null && !RegionName().IsMatch(o.AuthenticationRegion))
        {
            errors.Add($"{p}:AuthenticationRegion is '{o.AuthenticationRegion}': it must be a region name of lowercase letters, digits and '-'.");
        }

        var hasKeyId = !string.IsNullOrEmpty(o.AccessKeyId);
        var hasSecret = !string.IsNullOrEmpty(o.SecretAccessKey);
        if (hasKeyId != hasSecret)
        {
            var (set, missing) = hasKeyId ? ("AccessKeyId", "SecretAccessKey") : ("SecretAccessKey", "AccessKeyId");
            errors.Add($"{p}:{missing} is missing while {p}:{set} is set: set both, or neither to use the standard AWS credential chain.");
        }

        if (o.Prefix is null || !IsValidPrefix(o.Prefix))
        {
            errors.Add($"{p}:Prefix is '{o.Prefix}': it must be at most 256 characters of '/'-separated segments without control characters, empty, '.' or '..' segments, and without a leading or trailing '/' (empty means the bucket root).");
        }

        CheckRange(errors, $"{p}:MultipartThresholdBytes", o.MultipartThresholdBytes, ArtifactStorageOptions.MinimumPartSizeBytes, ArtifactStorageOptions.MaximumThresholdBytes);
        CheckRange(errors, $"{p}:MultipartPartSizeBytes", o.MultipartPartSizeBytes, ArtifactStorageOptions.MinimumPartSizeBytes, ArtifactStorageOptions.MaximumPartSizeBytes);
        CheckRange(errors, $"{p}:MaxConcurrentUploads", o.MaxConcurrentUploads, 1, 64);
        CheckRange(errors, $"{p}:MaxRetryAttempts", o.MaxRetryAttempts, 0, 20);
        CheckRange(errors, $"{p}:LogChunkMaxBytes", o.LogChunkMaxBytes, S3ArtifactStore.MinLogChunkBytes, 64L * 1024 * 1024);
        CheckRange(errors, $"{p}:LogArchiveMaxBytesPerRun", o.LogArchiveMaxBytesPerRun, Math.Max(o.LogChunkMaxBytes, S3ArtifactStore.MinLogChunkBytes), long.MaxValue);

        if (o.RetryBaseDelay < TimeSpan.Zero || o.RetryBaseDelay > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{p}:RetryBaseDelay is {o.RetryBaseDelay}: it must be between 00:00:00 and 00:05:00.");
        }

        if (o.RequestTimeout < TimeSpan.FromSeconds(1) || o.RequestTimeout > TimeSpan.FromHours(1))
        {
            errors.Add($"{p}:RequestTimeout is {o.RequestTimeout}: it must be between 00:00:01 and 01:00:00.");
        }

        CheckEnum(errors, $"{p}:RequestChecksumCalculation", o.RequestChecksumCalculation);
        CheckEnum(errors, $"{p}:ResponseChecksumValidation", o.ResponseChecksumValidation);
        return errors;
    }

    private static bool IsValidPrefix(string prefix)
    {
        if (prefix.Length == 0)
        {
            return true;
        }

        return prefix.Length <= 256 &&
               !prefix.Any(char.IsControl) &&
               prefix.Split('/').All(segment => segment.Length > 0 && segment is not ("." or ".."));
    }

    private static void CheckRange(List<string> errors, string key, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{key} is {value}: it must be between {min} and {max}.");
        }
    }

    private static void CheckEnum<TEnum>(List<string> errors, string key, TEnum? value)
        where TEnum : struct, Enum
    {
        if (value is { } v && !Enum.IsDefined(v))
        {
            errors.Add($"{key} is '{v}': it must be one of {string.Join(", ", Enum.GetNames<TEnum>())}.");
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", RegexOptions.CultureInvariant)]
    private static partial Regex BucketName();

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex RegionName();
}
