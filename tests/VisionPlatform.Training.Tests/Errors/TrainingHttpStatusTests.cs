using System.Reflection;

namespace VisionPlatform.Training.Tests.Errors;

/// <summary>Issue 17: one mapping from every error code to an HTTP status, shared by the Backend sample and the docs.</summary>
public sealed class TrainingHttpStatusTests
{
    // Every code TrainingErrorCode defines, found by reflection: a code added later without a row fails here.
    public static TheoryData<string> SdkCodes()
    {
        var data = new TheoryData<string>();
        foreach (var property in typeof(TrainingErrorCode).GetProperties(BindingFlags.Public | BindingFlags.Static)
                     .Where(p => p.PropertyType == typeof(TrainingErrorCode)))
        {
            data.Add(property.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SdkCodes))]
    public void Every_code_the_sdk_defines_has_its_own_status(string name)
    {
        var code = (TrainingErrorCode)typeof(TrainingErrorCode).GetProperty(name)!.GetValue(null)!;

        TrainingHttpStatus.TryGet(code, out var status).Should().BeTrue($"TrainingErrorCode.{name} needs a row in TrainingHttpStatus");
        status.Should().BeInRange(400, 599);
        TrainingHttpStatus.For(code).Should().Be(status);
    }

    [Theory]
    [InlineData("ValidationFailed", 400)]
    [InlineData("Forbidden", 403)]
    [InlineData("RunNotFound", 404)]
    [InlineData("UnknownExecutor", 404)]
    [InlineData("ArtifactNotFound", 404)]
    [InlineData("JobConflict", 409)]
    [InlineData("Unschedulable", 422)]
    [InlineData("Rejected", 422)]
    [InlineData("QueueFull", 429)]
    [InlineData("SubscriberOverflow", 500)]
    [InlineData("ExecutorFailure", 502)]
    [InlineData("ExecutorUnavailable", 503)]
    [InlineData("SubscriberLimitReached", 503)]
    [InlineData("OutcomeUnknown", 504)]
    public void Each_code_answers_its_documented_status(string code, int status)
    {
        TrainingHttpStatus.For(new TrainingErrorCode(code)).Should().Be(status);
        TrainingHttpStatus.For(new TrainingException(new TrainingErrorCode(code), "message")).Should().Be(status);
    }

    [Fact]
    public void A_code_an_executor_defines_is_502_and_not_one_of_the_sdk_s_own()
    {
        var own = new TrainingErrorCode("DiskQuota");

        TrainingHttpStatus.TryGet(own, out var status).Should().BeFalse();
        status.Should().Be(0);
        TrainingHttpStatus.For(own).Should().Be(TrainingHttpStatus.ExecutorDefinedCode).And.Be(502);
        TrainingHttpStatus.TryGet(default, out _).Should().BeFalse("default(TrainingErrorCode) is no code");
        TrainingHttpStatus.For(default(TrainingErrorCode)).Should().Be(502);
    }

    [Fact]
    public void A_validation_exception_is_400()
    {
        var invalid = new TrainingValidationException([new TrainingValidationError("Epochs", "0", "must be at least 1")]);

        TrainingHttpStatus.For(invalid).Should().Be(400);
    }
}
