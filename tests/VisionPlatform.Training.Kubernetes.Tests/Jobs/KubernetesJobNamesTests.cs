using System.Text;
using System.Text.RegularExpressions;

namespace VisionPlatform.Training.Kubernetes.Tests;

public partial class KubernetesJobNamesTests
{
    [Theory]
    [InlineData("42", "training-job-42")]
    [InlineData("job-42", "training-job-job-42")]
    [InlineData("a", "training-job-a")]
    [InlineData("abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdef", "training-job-abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdef")]
    public void A_clean_short_lower_case_id_keeps_the_platforms_name(string jobId, string expected) =>
        KubernetesJobNames.FromJobId(jobId).Should().Be(expected);

    [Theory]
    [InlineData("Job-42")]
    [InlineData("job_42")]
    [InlineData("job.42")]
    [InlineData("-job")]
    [InlineData("job-")]
    [InlineData("jöb-42")]
    [InlineData("日本語")]
    [InlineData("---")]
    [InlineData("abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefg")]
    public void Other_ids_get_a_sanitised_prefix_and_a_hash(string jobId)
    {
        var name = KubernetesJobNames.FromJobId(jobId);
        name.Should().MatchRegex("^training-job-([a-z0-9-]*-)?[0-9a-f]{16}$");
        IsDnsLabel(name).Should().BeTrue();
    }

    [Fact]
    public void Names_are_valid_short_stable_and_distinct_for_many_ids()
    {
        var ids = GenerateIds(20_000, seed: 1234);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            var name = KubernetesJobNames.FromJobId(id);
            name.Length.Should().BeLessThanOrEqualTo(63, $"the name for '{id}' must fit the job-name label");
            IsDnsLabel(name).Should().BeTrue($"'{name}' (for '{id}') must be a DNS-1123 label");
            KubernetesJobNames.FromJobId(id).Should().Be(name, "the same id must always give the same name");
            if (names.TryGetValue(name, out var other))
            {
                other.Should().Be(id, $"'{id}' and '{other}' must not share the name {name}");
            }

            names[name] = id;
        }

        names.Count.Should().Be(ids.Count);
    }

    [Fact]
    public void Ids_that_differ_only_in_case_or_punctuation_get_different_names()
    {
        string[] ids = ["job-1", "JOB-1", "Job-1", "job_1", "job.1", "job--1", "job 1", "job-1 ", "jöb-1"];
        ids.Select(KubernetesJobNames.FromJobId).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public void Label_values_are_valid_for_any_text_and_keep_valid_values_unchanged()
    {
        KubernetesJobNames.ToLabelValue("Job_42.v2").Should().Be("Job_42.v2");
        foreach (var id in GenerateIds(5_000, seed: 99))
        {
            var value = KubernetesJobNames.ToLabelValue(id);
            value.Length.Should().BeLessThanOrEqualTo(63);
            LabelValue().IsMatch(value).Should().BeTrue($"'{value}' (for '{id}') must be a label value");
        }
    }

    private static HashSet<string> GenerateIds(int count, int seed)
    {
        var random = new Random(seed);
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/ @äöüßé日本";
        var ids = new HashSet<string>(StringComparer.Ordinal)
        {
            "a", "0", "job", "JOB", new string('x', 253), new string('X', 253), "job-" + new string('1', 200),
        };
        while (ids.Count < count)
        {
            var length = random.Next(4) switch { 0 => random.Next(1, 8), 1 => random.Next(8, 50), 2 => random.Next(50, 70), _ => random.Next(70, 253) };
            var builder = new StringBuilder(length);
            for (var i = 0; i < length; i++)
            {
                builder.Append(random.Next(3) == 0 ? alphabet[random.Next(alphabet.Length)] : alphabet[random.Next(36)]);
            }

            var id = builder.ToString();
            if (id.Trim().Length == id.Length)
            {
                ids.Add(id);
            }

            // Near-duplicates stress the sanitiser: same text in upper case and with '_' instead of '-'.
            ids.Add(id.ToUpperInvariant().Trim() is { Length: > 0 } upper ? upper : "u");
            ids.Add(id.Replace('-', '_').Trim() is { Length: > 0 } underscored ? underscored : "v");
        }

        return ids;
    }

    private static bool IsDnsLabel(string value) => value.Length <= 63 && DnsLabel().IsMatch(value);

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")]
    private static partial Regex LabelValue();
}
