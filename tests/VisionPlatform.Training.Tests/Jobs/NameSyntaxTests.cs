namespace VisionPlatform.Training.Tests.Jobs;

/// <summary>
/// The one implementation of the Kubernetes name and label syntax, used by core (job labels and environment) and the
/// Kubernetes package (Job validation, options): whole-text matches, with the apiserver's lengths and edge characters.
/// </summary>
public sealed class NameSyntaxTests
{
    [Theory]
    [InlineData("team\n")]
    [InlineData("team\r\n")]
    [InlineData("\nteam")]
    [InlineData("te\nam")]
    [InlineData("team ")]
    public void A_newline_or_space_anywhere_is_never_accepted(string text)
    {
        NameSyntax.IsLabelValue(text).Should().BeFalse();
        NameSyntax.IsLabelKey(text).Should().BeFalse();
        NameSyntax.IsQualifiedName(text).Should().BeFalse();
        NameSyntax.IsDnsLabel(text).Should().BeFalse();
        NameSyntax.IsDnsSubdomain(text).Should().BeFalse();
        NameSyntax.IsEnvironmentVariableName(text).Should().BeFalse();
        NameSyntax.IsConfigMapKey(text).Should().BeFalse();
    }

    [Theory]
    [InlineData(".", false)]
    [InlineData("..", false)]
    [InlineData("..a", false)]
    [InlineData(".a", true)]
    [InlineData("a..b", true)]
    [InlineData("-x", true)]
    [InlineData("_", true)]
    [InlineData("A.b-C_9", true)]
    [InlineData("9LIVES", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("A=B", false)]
    [InlineData("PATH$", false)]
    [InlineData("ÄRGER", false)]
    public void Environment_variable_names_follow_the_strict_rule(string? name, bool valid) =>
        NameSyntax.IsEnvironmentVariableName(name).Should().Be(valid);

    [Theory]
    [InlineData(".", false)]
    [InlineData("..", false)]
    [InlineData("..a", true)]
    [InlineData("api-url", true)]
    [InlineData("a/b", false)]
    public void Config_map_keys_exclude_dot_and_dot_dot(string key, bool valid) =>
        NameSyntax.IsConfigMapKey(key).Should().Be(valid);

    [Fact]
    public void Lengths_are_the_apiservers()
    {
        NameSyntax.IsDnsLabel(new string('a', 63)).Should().BeTrue();
        NameSyntax.IsDnsLabel(new string('a', 64)).Should().BeFalse();
        NameSyntax.IsDnsSubdomain(string.Join('.', Enumerable.Repeat(new string('a', 63), 4))[..253]).Should().BeTrue();
        NameSyntax.IsDnsSubdomain(new string('a', 63) + "." + new string('b', 190)).Should().BeFalse("each part is at most 63");
        NameSyntax.IsDnsSubdomain(string.Join('.', Enumerable.Repeat(new string('a', 50), 6))).Should().BeFalse("305 characters");
        NameSyntax.IsLabelValue(new string('v', 63)).Should().BeTrue();
        NameSyntax.IsLabelValue(new string('v', 64)).Should().BeFalse();
        NameSyntax.IsLabelKey(new string('k', 63)).Should().BeTrue();
        NameSyntax.IsLabelKey(new string('k', 64)).Should().BeFalse();
        NameSyntax.IsLabelKey("example.com/" + new string('k', 63)).Should().BeTrue();
        NameSyntax.IsLabelKey(new string('p', 254) + "/k").Should().BeFalse("the prefix is at most 253");
        NameSyntax.IsConfigMapKey(new string('c', 253)).Should().BeTrue();
        NameSyntax.IsConfigMapKey(new string('c', 254)).Should().BeFalse();
    }

    [Theory]
    [InlineData("", true)]
    [InlineData("a", true)]
    [InlineData("A-b_c.9", true)]
    [InlineData("-a", false)]
    [InlineData("a-", false)]
    [InlineData("a_", false)]
    [InlineData(".a", false)]
    [InlineData("a b", false)]
    [InlineData("a/b", false)]
    public void Label_values_start_and_end_with_a_letter_or_digit(string value, bool valid) =>
        NameSyntax.IsLabelValue(value).Should().Be(valid);

    [Theory]
    [InlineData("team", true)]
    [InlineData("example.com/team", true)]
    [InlineData("kubernetes.io/Team_1", true)]
    [InlineData("Example.com/team", false)]
    [InlineData("/team", false)]
    [InlineData("example.com/", false)]
    [InlineData("a/b/c", false)]
    [InlineData("-team", false)]
    [InlineData("", false)]
    public void Label_keys_are_qualified_names(string key, bool valid)
    {
        NameSyntax.IsLabelKey(key).Should().Be(valid);
        NameSyntax.IsQualifiedName(key).Should().Be(valid);
    }

    [Theory]
    [InlineData("training", true)]
    [InlineData("a-1", true)]
    [InlineData("1a", true)]
    [InlineData("Training", false)]
    [InlineData("-a", false)]
    [InlineData("a-", false)]
    [InlineData("a.b", false)]
    [InlineData("a_b", false)]
    public void Dns_labels_are_lower_case_letters_digits_and_inner_dashes(string value, bool valid)
    {
        NameSyntax.IsDnsLabel(value).Should().Be(valid);
        NameSyntax.IsDnsSubdomain(value).Should().Be(valid || value == "a.b");
    }

    [Fact]
    public void A_job_whose_label_or_environment_name_has_a_trailing_newline_or_is_a_dot_is_refused_at_build()
    {
        var builder = TrainingJobConfigBuilderTests.Valid();
        builder.Labels["team"] = "vision\n";
        builder.Labels["ok\n"] = "x";
        builder.Environment["."] = "1";
        builder.Environment[".."] = "2";

        var errors = builder.Invoking(b => b.Build()).Should().Throw<TrainingValidationException>().Which.Errors;

        errors.Select(e => e.Field).Should().Contain(["Labels[team]", "Labels[ok\n]", "Environment[.]", "Environment[..]"]);
    }
}
