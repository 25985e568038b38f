using System.Net;
using k8s.Autorest;

namespace VisionPlatform.Training.Kubernetes.Tests;

public class KubernetesErrorsTests
{
    [Fact]
    public void Forbidden_names_the_verb_resource_and_namespace_for_rbac()
    {
        var ex = Error(HttpStatusCode.Forbidden, """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"jobs.batch is forbidden: User \"system:serviceaccount:platform:backend\" cannot create resource \"jobs\" in API group \"batch\" in the namespace \"training\"","reason":"Forbidden","details":{"group":"batch","kind":"jobs"},"code":403}""");
        var error = KubernetesErrors.Translate(ex, "create", "jobs (batch)", "training", "job-42");
        error.Code.Should().Be(TrainingErrorCode.Forbidden);
        error.Message.Should().Contain("'create'").And.Contain("jobs (batch)").And.Contain("'training'").And.Contain("RoleBinding").And.Contain("system:serviceaccount:platform:backend");
        error.JobId.Should().Be("job-42");
    }

    [Fact]
    public void Invalid_is_rejected_with_every_cause()
    {
        var ex = Error(HttpStatusCode.UnprocessableEntity, """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Job.batch \"x\" is invalid: [spec.template.spec.restartPolicy: Required value, metadata.name: Invalid value]","reason":"Invalid","details":{"name":"x","group":"batch","kind":"Job","causes":[{"reason":"FieldValueRequired","message":"Required value: valid values: \"OnFailure\", \"Never\"","field":"spec.template.spec.restartPolicy"},{"reason":"FieldValueInvalid","message":"Invalid value: \"X\"","field":"metadata.name"}]},"code":422}""");
        var error = KubernetesErrors.Translate(ex, "create", "jobs (batch)", "training", null);
        error.Code.Should().Be(TrainingErrorCode.Rejected);
        error.Message.Should().Contain("spec.template.spec.restartPolicy: Required value").And.Contain("metadata.name: Invalid value").And.Contain("FieldValueRequired");
    }

    [Fact]
    public void A_missing_namespace_says_how_to_fix_it()
    {
        var ex = Error(HttpStatusCode.NotFound, """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"namespaces \"training\" not found","reason":"NotFound","details":{"name":"training","kind":"namespaces"},"code":404}""");
        var error = KubernetesErrors.Translate(ex, "create", "jobs (batch)", "training", null);
        error.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        error.Message.Should().Contain("kubectl create namespace training").And.Contain("Training:Kubernetes:Namespace");
    }

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized, "ExecutorUnavailable")]
    [InlineData(HttpStatusCode.Conflict, "JobConflict")]
    [InlineData(HttpStatusCode.BadRequest, "Rejected")]
    [InlineData(HttpStatusCode.TooManyRequests, "ExecutorUnavailable")]
    [InlineData(HttpStatusCode.InternalServerError, "ExecutorUnavailable")]
    public void Other_statuses_map_to_codes_and_keep_a_body_that_is_not_json(HttpStatusCode status, string code)
    {
        var error = KubernetesErrors.Translate(Error(status, "<html>oops</html>"), "get", "jobs (batch)", "training", null);
        error.Code.Value.Should().Be(code);
        error.InnerException.Should().BeOfType<HttpOperationException>();
    }

    private static HttpOperationException Error(HttpStatusCode status, string body) => new($"Operation returned an invalid status code '{status}'")
    {
        Response = new HttpResponseMessageWrapper(new HttpResponseMessage(status), body),
    };
}
