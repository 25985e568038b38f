
namespace VisionPlatform.Training.Kubernetes.Tests;

public class KubernetesJobValidatorTests
{
    public static TheoryData<JobValidationCase> Cases()
    {
        var data = new TheoryData<JobValidationCase>();
        foreach (var c in JobValidationCases.All)
        {
            data.Add(c);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_apiserver_rule_is_checked_locally_with_its_field_path(JobValidationCase testCase)
    {
        var job = JobValidationCases.ValidJob();
        testCase.Mutate(job);

        var errors = KubernetesJobValidator.Validate(job);

        if (testCase.Field is null)
        {
            errors.Should().BeEmpty();
        }
        else
        {
            errors.Select(e => e.Field).Should().Contain(testCase.Field);
            errors.Should().OnlyContain(e => !string.IsNullOrWhiteSpace(e.Rule));
        }
    }

    [Fact]
    public void Every_problem_is_listed_at_once()
    {
        var job = JobValidationCases.ValidJob();
        job.Metadata.Name = "Bad_Name";
        job.Spec.BackoffLimit = -1;
        job.Spec.Template.Spec.Containers[0].Image = null;

        var errors = KubernetesJobValidator.Validate(job);

        errors.Select(e => e.Field).Should().BeEquivalentTo(["metadata.name", "spec.backoffLimit", "spec.template.spec.containers[0].image"]);
        var exception = new TrainingValidationException(errors);
        exception.Message.Should().Contain("metadata.name").And.Contain("Bad_Name").And.Contain("spec.backoffLimit");
    }

    [Fact]
    public void Env_values_are_never_echoed_in_errors()
    {
        var job = JobValidationCases.ValidJob();
        var env = job.Spec.Template.Spec.Containers[0].Env.Single(e => e.Name == "AWS_SECRET_ACCESS_KEY");
        env.Value = "hunter2-secret";

        var errors = KubernetesJobValidator.Validate(job);

        errors.Should().NotBeEmpty();
        errors.Should().OnlyContain(e => e.Value == null || !e.Value.Contains("hunter2"));
        errors.Should().OnlyContain(e => !e.Rule.Contains("hunter2"));
    }
}
