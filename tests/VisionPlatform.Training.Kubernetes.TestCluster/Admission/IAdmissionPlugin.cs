namespace VisionPlatform.Training.Kubernetes.TestCluster.Admission;

/// <summary>
/// One admission plugin. The chain runs every plugin's <see cref="Mutate"/> in order, then every plugin's
/// <see cref="Validate"/>, as the apiserver runs its mutating and then its validating admission; a refusal is a thrown
/// <see cref="Store.StoreException"/> (403 Forbidden).
/// </summary>
internal interface IAdmissionPlugin
{
    /// <summary>The mutating phase: defaults, lookups that can refuse (ServiceAccount).</summary>
    void Mutate(AdmissionRequest request)
    {
    }

    /// <summary>The validating phase: checks on the final object.</summary>
    void Validate(AdmissionRequest request)
    {
    }
}
