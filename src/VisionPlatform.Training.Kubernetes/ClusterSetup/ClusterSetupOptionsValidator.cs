using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Validates <see cref="ClusterSetupOptions"/> at start-up and before each call that passes its own options. Every
/// message names the configuration key (for example <c>Training:Kubernetes:ClusterSetup:SecretName</c>); Secret values
/// never appear, only their keys.
/// </summary>
internal sealed class ClusterSetupOptionsValidator(string sectionPath) : IValidateOptions<ClusterSetupOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterSetupOptions options)
    {
        var errors = Check(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => e.ToString()));
    }

    public IReadOnlyList<TrainingValidationError> Check(ClusterSetupOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var p = sectionPath;
        var errors = new List<TrainingValidationError>();
        Subdomain(errors, $"{p}:SecretName", options.SecretName, "the storage credentials Secret");
        Subdomain(errors, $"{p}:ConfigMapName", options.ConfigMapName, "the backend ConfigMap");
        if (options.TrainingServiceAccountName is not null)
        {
            Subdomain(errors, $"{p}:TrainingServiceAccountName", options.TrainingServiceAccountName, "the training pods' service account");
        }

        Keys(errors, $"{p}:SecretData", options.SecretData);
        Keys(errors, $"{p}:ConfigMapData", options.ConfigMapData);

        if (string.IsNullOrEmpty(options.BackendRoleName) || !NameSyntax.IsDnsSubdomain(options.BackendRoleName))
        {
            errors.Add(new($"{p}:BackendRoleName", options.BackendRoleName, $"the Role and RoleBinding name {NameSyntax.DnsSubdomainRule} (default training-executor)"));
        }

        var backend = options.Backend ?? new ClusterSetupSubjectOptions();
        switch (backend.Kind)
        {
            case "ServiceAccount":
                if (backend.Name is not null)
                {
                    Subdomain(errors, $"{p}:Backend:Name", backend.Name, "the backend's service account");
                }

                if (backend.Namespace is not null && !NameSyntax.IsDnsLabel(backend.Namespace))
                {
                    errors.Add(new($"{p}:Backend:Namespace", backend.Namespace, $"the service account's namespace {NameSyntax.DnsLabelRule}"));
                }

                break;
            case "User" or "Group":
                if (backend.Name is { } subject && (subject.Length == 0 || subject.Any(char.IsControl)))
                {
                    errors.Add(new($"{p}:Backend:Name", subject, $"a {backend.Kind} name must be non-empty text without control characters"));
                }

                if (backend.Namespace is not null)
                {
                    errors.Add(new($"{p}:Backend:Namespace", backend.Namespace, $"only a ServiceAccount subject has a namespace; leave it unset for a {backend.Kind}"));
                }

                break;
            default:
                errors.Add(new($"{p}:Backend:Kind", backend.Kind, "must be ServiceAccount, User or Group"));
                break;
        }

        var policy = options.NetworkPolicy ?? new ClusterSetupNetworkPolicyOptions();
        Subdomain(errors, $"{p}:NetworkPolicy:Name", policy.Name, "the NetworkPolicy");
        if ((options.Kueue ?? new ClusterSetupKueueOptions()).ClusterQueue is { } clusterQueue && !KueuePlacement.IsValidName(clusterQueue))
        {
            errors.Add(new($"{p}:Kueue:ClusterQueue", clusterQueue, $"the ClusterQueue name {KueuePlacement.NameRule}"));
        }

        return errors;
    }

    private static void Subdomain(List<TrainingValidationError> errors, string key, string? value, string what)
    {
        if (string.IsNullOrEmpty(value) || !NameSyntax.IsDnsSubdomain(value))
        {
            errors.Add(new(key, value ?? "", $"the name of {what} {NameSyntax.DnsSubdomainRule}"));
        }
    }

    // Only keys are named: the values may be credentials.
    private static void Keys(List<TrainingValidationError> errors, string p, IDictionary<string, string> data)
    {
        foreach (var (key, value) in data)
        {
            if (!NameSyntax.IsConfigMapKey(key))
            {
                errors.Add(new($"{p}:{key}", null, $"the key {NameSyntax.ConfigMapKeyRule}"));
            }

            if (value is null)
            {
                errors.Add(new($"{p}:{key}", null, "has no value (use an empty string for an empty value)"));
            }
        }
    }
}
