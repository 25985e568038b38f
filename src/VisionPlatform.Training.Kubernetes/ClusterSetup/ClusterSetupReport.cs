using System.Text;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>What happened to (or was found for) one object of the cluster set-up.</summary>
public enum ClusterResourceState
{
    /// <summary>The object exists as the set-up wants it; nothing was changed.</summary>
    Unchanged,

    /// <summary>The object did not exist and was created.</summary>
    Created,

    /// <summary>The object existed and was updated (a managed Secret whose values changed, or an overwrite that was asked for).</summary>
    Updated,

    /// <summary>Check only: the object does not exist.</summary>
    Missing,

    /// <summary>Check only: the object exists, is managed by the SDK, and differs in <see cref="ClusterResourceResult.Differences"/>.</summary>
    Different,

    /// <summary>
    /// The object exists but differs, or was not created by the SDK (no <c>app.kubernetes.io/managed-by</c> label); it was
    /// left alone. Set <see cref="ClusterSetupOptions.OverwriteConflicts"/> to replace it.
    /// </summary>
    Conflict,

    /// <summary>The set-up does not manage the object with these options (for example no Secret values or no backend subject); see the message.</summary>
    Skipped,
}

/// <summary>One object of the cluster set-up and its state. Never holds a Secret value.</summary>
public sealed class ClusterResourceResult
{
    internal ClusterResourceResult(string kind, string? @namespace, string name, ClusterResourceState state, IReadOnlyList<string> differences, string? message)
    {
        Kind = kind;
        Namespace = @namespace;
        Name = name;
        State = state;
        Differences = differences;
        Message = message;
    }

    /// <summary>The object's kind, for example <c>Role</c>.</summary>
    public string Kind { get; }

    /// <summary>The object's namespace; <see langword="null"/> for the Namespace itself.</summary>
    public string? Namespace { get; }

    /// <summary>The object's name.</summary>
    public string Name { get; }

    /// <summary>What happened or was found.</summary>
    public ClusterResourceState State { get; }

    /// <summary>The fields that differ from what the set-up wants (for a Secret: <c>data[key]</c>, never the value).</summary>
    public IReadOnlyList<string> Differences { get; }

    /// <summary>Why the object is in this state, when there is more to say.</summary>
    public string? Message { get; }

    /// <summary>One line: kind, namespace/name, state, differences and message.</summary>
    /// <returns>The line.</returns>
    public override string ToString()
    {
        var text = new StringBuilder().Append(Kind).Append(' ');
        if (Namespace is not null)
        {
            text.Append(Namespace).Append('/');
        }

        text.Append(Name).Append(": ").Append(State);
        if (Differences.Count > 0)
        {
            text.Append(" (").AppendJoin(", ", Differences).Append(')');
        }

        if (Message is not null)
        {
            text.Append(" - ").Append(Message);
        }

        return text.ToString();
    }
}

/// <summary>The result of <see cref="KubernetesClusterSetup.EnsureClusterResourcesAsync"/> or <see cref="KubernetesClusterSetup.CheckClusterResourcesAsync"/>.</summary>
public sealed class ClusterSetupReport
{
    internal ClusterSetupReport(IReadOnlyList<ClusterResourceResult> resources) => Resources = resources;

    /// <summary>Every object, in the order the set-up handles them (Namespace first).</summary>
    public IReadOnlyList<ClusterResourceResult> Resources { get; }

    /// <summary>Whether any object was left alone because it conflicts.</summary>
    public bool HasConflicts => Resources.Any(r => r.State == ClusterResourceState.Conflict);

    /// <summary>Whether every managed object now exists as wanted (none Missing, Different or Conflict).</summary>
    public bool IsInSync => Resources.All(r => r.State is ClusterResourceState.Unchanged or ClusterResourceState.Created or ClusterResourceState.Updated or ClusterResourceState.Skipped);

    /// <summary>The object of this kind and name, or <see langword="null"/>.</summary>
    /// <param name="kind">The kind, for example <c>Secret</c>.</param>
    /// <param name="name">The name.</param>
    /// <returns>The result.</returns>
    public ClusterResourceResult? Find(string kind, string name) =>
        Resources.FirstOrDefault(r => r.Kind == kind && r.Name == name);

    /// <summary>One line per object.</summary>
    /// <returns>The lines.</returns>
    public override string ToString() => string.Join(Environment.NewLine, Resources);
}
