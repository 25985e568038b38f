using Microsoft.AspNetCore.Http;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Validation;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>Reads DeleteOptions from the query and/or a JSON body, validated as the apiserver does.</summary>
internal static class DeleteOptionsReader
{
    public static async Task<DeleteOptions> ReadAsync(HttpContext http)
    {
        var body = await HttpIO.ReadObjectAsync(http, "DeleteOptions", "meta.k8s.io/v1").ConfigureAwait(false) ?? [];
        var policyText = HttpIO.Query(http, "propagationPolicy") ?? Json.GetString(body, "propagationPolicy");
        var grace = HttpIO.QueryLong(http, "gracePeriodSeconds") ?? Json.GetLong(body, "gracePeriodSeconds");
        bool? orphan = HttpIO.Query(http, "orphanDependents") is { } o ? o is "true" or "1" : Json.GetBool(body, "orphanDependents");
        var errors = new FieldErrors();
        PropagationPolicy? policy = null;
        if (policyText is not null)
        {
            policy = policyText switch
            {
                "Background" => PropagationPolicy.Background,
                "Foreground" => PropagationPolicy.Foreground,
                "Orphan" => PropagationPolicy.Orphan,
                _ => null,
            };
            if (policy is null)
            {
                errors.NotSupported("propagationPolicy", policyText, "Foreground", "Background", "Orphan");
            }
        }

        if (orphan is not null && policyText is not null)
        {
            errors.InvalidRaw("propagationPolicy", policyText, "orphanDependents and deletionPropagation cannot be both set");
        }

        if (errors.Any)
        {
            throw StoreException.Invalid("DeleteOptions.meta.k8s.io", "meta.k8s.io", "DeleteOptions", "", errors.Causes);
        }

        return new DeleteOptions
        {
            PropagationPolicy = policy,
            OrphanDependents = orphan,
            GracePeriodSeconds = grace,
            PreconditionUid = Json.GetString(body, "preconditions", "uid"),
            PreconditionResourceVersion = Json.GetString(body, "preconditions", "resourceVersion"),
        };
    }
}
