namespace VisionPlatform.Training.Kubernetes.TestCluster.Store;

/// <summary>How dependents of a deleted object are treated (metav1.DeletionPropagation).</summary>
public enum PropagationPolicy
{
    /// <summary>Remove the owner now; the garbage collector deletes dependents afterwards.</summary>
    Background,

    /// <summary>Keep the owner (finalizer <c>foregroundDeletion</c>) until its blocking dependents are gone.</summary>
    Foreground,

    /// <summary>Keep the owner (finalizer <c>orphan</c>) until the garbage collector has orphaned its dependents.</summary>
    Orphan,
}

/// <summary>The parts of metav1.DeleteOptions the store honours.</summary>
public sealed record DeleteOptions
{
    /// <summary>Options with nothing set: the type's defaults apply (Orphan for batch/v1 Jobs).</summary>
    public static DeleteOptions Default { get; } = new();

    /// <summary>Explicit propagation policy; wins over <see cref="OrphanDependents"/>.</summary>
    public PropagationPolicy? PropagationPolicy { get; init; }

    /// <summary>The deprecated boolean form of the policy.</summary>
    public bool? OrphanDependents { get; init; }

    /// <summary>Grace period for pods; null means the pod's <c>terminationGracePeriodSeconds</c>.</summary>
    public long? GracePeriodSeconds { get; init; }

    /// <summary>Precondition: the object's uid must equal this.</summary>
    public string? PreconditionUid { get; init; }

    /// <summary>Precondition: the object's resourceVersion must equal this.</summary>
    public string? PreconditionResourceVersion { get; init; }
}

/// <summary>The result of a delete.</summary>
/// <param name="Object">The object after the call: its last state if removed, or the terminating object.</param>
/// <param name="Removed">True when the object is gone from storage.</param>
#pragma warning disable CA1720 // "object" is the Kubernetes name.
public sealed record DeleteResult(System.Text.Json.Nodes.JsonObject Object, bool Removed);
#pragma warning restore CA1720
