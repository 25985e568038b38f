using Amazon.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Storage.Tests;

public sealed class OptionsTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddTrainingExecutors(o => o.DefaultExecutor = TrainingExecutorNames.Subprocess).AddSubprocess().AddArtifactStorage(configuration.GetSection("Training:Storage"));
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Every_broken_setting_is_reported_at_once_naming_its_key_and_rule()
    {
        using var provider = Build(new()
        {
            ["Training:Storage:ServiceUrl"] = "ftp://example",
            ["Training:Storage:Bucket"] = "Bad_Bucket",
            ["Training:Storage:Region"] = "US East",
            ["Training:Storage:AccessKeyId"] = "AKIAEXAMPLE",
            ["Training:Storage:Prefix"] = "/jobs/",
            ["Training:Storage:MultipartPartSizeBytes"] = "1024",
            ["Training:Storage:MaxConcurrentUploads"] = "0",
            ["Training:Storage:MaxRetryAttempts"] = "99",
            ["Training:Storage:RequestTimeout"] = "00:00:00",
        });

        var act = () => provider.GetRequiredService<IOptions<ArtifactStorageOptions>>().Value;

        var failures = act.Should().Throw<OptionsValidationException>().Which.Failures.ToList();
        failures.Should().Contain(f => f.StartsWith("Training:Storage:ServiceUrl is 'ftp://example'", StringComparison.Ordinal));
        failures.Should().Contain(f => f.StartsWith("Training:Storage:Bucket is 'Bad_Bucket'", StringComparison.Ordinal) && f.Contains("3-63 characters", StringComparison.Ordinal));
        failures.Should().Contain(f => f.StartsWith("Training:Storage:Region is 'US East'", StringComparison.Ordinal));
        failures.Should().Contain(f => f.StartsWith("Training:Storage:SecretAccessKey is missing while Training:Storage:AccessKeyId is set", StringComparison.Ordinal));
        failures.Should().Contain(f => f.StartsWith("Training:Storage:Prefix is '/jobs/'", StringComparison.Ordinal));
        failures.Should().Contain(f => f.StartsWith("Training:Storage:MultipartPartSizeBytes is 1024: it must be between 5242880", StringComparison.Ordinal));
        failures.Should().Contain(f => f.StartsWith("Training:Storage:MaxConcurrentUploads is 0", StringComparison.Ordinal));
        failures.Should().Contain(f => f.StartsWith("Training:Storage:MaxRetryAttempts is 99", StringComparison.Ordinal));
        failures.Should().Contain(f => f.StartsWith("Training:Storage:RequestTimeout is 00:00:00", StringComparison.Ordinal));
        failures.Should().HaveCount(9);
    }

    [Fact]
    public void A_missing_bucket_is_reported_and_a_secret_value_never_is()
    {
        const string secret = "super-secret-value-123";
        using var provider = Build(new() { ["Training:Storage:SecretAccessKey"] = secret });

        var act = () => provider.GetRequiredService<IArtifactStore>();

        var e = act.Should().Throw<OptionsValidationException>().Which;
        e.Failures.Should().Contain("Training:Storage:Bucket is required: name the bucket that holds training artifacts.");
        e.Failures.Should().Contain(f => f.StartsWith("Training:Storage:AccessKeyId is missing", StringComparison.Ordinal));
        e.ToString().Should().NotContain(secret);
    }

    [Theory]
    [InlineData("https://AKIAEXAMPLE:topsecret@host", "https://***@host")]
    [InlineData("https://AKIAEXAMPLE:top/secret@storage.example:9000/base", "https://***@storage.example:9000/base")]
    [InlineData("AKIAEXAMPLE:topsecret@host", "***@host")]
    [InlineData("https://host/?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=topsecret", "https://host/?***")]
    [InlineData("https://AKIAEXAMPLE@host#topsecret", "https://***@host#***")]
    public void A_service_url_with_credentials_is_rejected_without_showing_them(string serviceUrl, string shown)
    {
        using var provider = Build(new()
        {
            ["Training:Storage:ServiceUrl"] = serviceUrl,
            ["Training:Storage:Bucket"] = "artifacts",
        });

        var act = () => provider.GetRequiredService<IArtifactStore>();

        var e = act.Should().Throw<OptionsValidationException>().Which;
        e.Failures.Should().ContainSingle().Which.Should().StartWith($"Training:Storage:ServiceUrl is '{shown}': it must be an absolute http or https URL without user info");
        var described = new ArtifactStorageOptions { ServiceUrl = serviceUrl, Bucket = "artifacts" }.ToString();
        described.Should().Contain($"ServiceUrl = {shown},");
        foreach (var text in new[] { e.ToString(), described })
        {
            text.Should().NotContain("topsecret").And.NotContain("AKIAEXAMPLE");
        }
    }

    [Fact]
    public void A_plain_service_url_is_shown_as_configured()
    {
        var options = new ArtifactStorageOptions { ServiceUrl = "http://minio:9000/", Bucket = "artifacts" };

        options.ToString().Should().Contain("ServiceUrl = http://minio:9000/,");
    }

    [Fact]
    public void Direct_construction_validates_with_the_same_messages()
    {
        var act = () => new S3ArtifactStore(new ArtifactStorageOptions { Bucket = "ok-bucket", Prefix = "a//b" });

        act.Should().Throw<OptionsValidationException>().Which.Failures.Should().ContainSingle()
            .Which.Should().StartWith("Training:Storage:Prefix is 'a//b'");
    }

    [Fact]
    public void Configuration_binds_every_setting_and_the_store_resolves_once()
    {
        using var provider = Build(new()
        {
            ["Training:Storage:ServiceUrl"] = "https://account.r2.cloudflarestorage.com",
            ["Training:Storage:Bucket"] = "vp-artifacts",
            ["Training:Storage:Region"] = "auto",
            ["Training:Storage:AccessKeyId"] = "key-id",
            ["Training:Storage:SecretAccessKey"] = "key-secret",
            ["Training:Storage:RequestChecksumCalculation"] = "WHEN_SUPPORTED",
            ["Training:Storage:ResponseChecksumValidation"] = "WHEN_REQUIRED",
            ["Training:Storage:UseChunkEncoding"] = "true",
            ["Training:Storage:ForcePathStyle"] = "false",
            ["Training:Storage:Prefix"] = "team-a/jobs",
            ["Training:Storage:MultipartThresholdBytes"] = "104857600",
            ["Training:Storage:MultipartPartSizeBytes"] = "8388608",
            ["Training:Storage:MaxConcurrentUploads"] = "8",
            ["Training:Storage:MaxRetryAttempts"] = "2",
            ["Training:Storage:RetryBaseDelay"] = "00:00:02",
            ["Training:Storage:RequestTimeout"] = "00:10:00",
        });

        var o = provider.GetRequiredService<IOptions<ArtifactStorageOptions>>().Value;
        o.Region.Should().Be("auto");
        o.RequestChecksumCalculation.Should().Be(RequestChecksumCalculation.WHEN_SUPPORTED);
        o.ResponseChecksumValidation.Should().Be(ResponseChecksumValidation.WHEN_REQUIRED);
        o.UseChunkEncoding.Should().BeTrue();
        o.ForcePathStyle.Should().BeFalse();
        o.MultipartThresholdBytes.Should().Be(100L * 1024 * 1024);
        o.RetryBaseDelay.Should().Be(TimeSpan.FromSeconds(2));

        var store = provider.GetRequiredService<IArtifactStore>();
        store.Should().BeSameAs(provider.GetRequiredService<S3ArtifactStore>());
        store.Bucket.Should().Be("vp-artifacts");
        store.GetRunPrefix("job-1").Should().Be("team-a/jobs/job-1/");
        o.ToString().Should().NotContain("key-secret").And.NotContain("key-id");
    }

    [Fact]
    public void Custom_endpoints_default_to_the_settings_non_AWS_servers_need()
    {
        var custom = new ArtifactStorageOptions { ServiceUrl = "http://minio:9000", Bucket = "b-1" };
        custom.ToString().Should().Contain("ForcePathStyle = True").And.Contain("UseChunkEncoding = False")
            .And.Contain("RequestChecksumCalculation = WHEN_REQUIRED").And.Contain("ResponseChecksumValidation = WHEN_REQUIRED");

        var aws = new ArtifactStorageOptions { Bucket = "b-1" };
        aws.ToString().Should().Contain("ServiceUrl = (Amazon S3)").And.Contain("ForcePathStyle = False").And.Contain("UseChunkEncoding = True")
            .And.Contain("RequestChecksumCalculation = (SDK default)");
    }

    [Fact]
    public void Registering_twice_is_harmless_and_later_configuration_still_applies()
    {
        var services = new ServiceCollection();
        var builder = services.AddTrainingExecutors(o => o.DefaultExecutor = TrainingExecutorNames.Subprocess).AddSubprocess();
        builder.AddArtifactStorage(o => o.Bucket = "first-bucket");
        builder.AddArtifactStorage(o => o.Prefix = "second");
        using var provider = services.BuildServiceProvider();

        services.Count(d => d.ServiceType == typeof(IArtifactStore)).Should().Be(1);
        var store = provider.GetRequiredService<IArtifactStore>();
        store.Bucket.Should().Be("first-bucket");
        store.GetRunPrefix("j").Should().Be("second/j/");
    }
}
