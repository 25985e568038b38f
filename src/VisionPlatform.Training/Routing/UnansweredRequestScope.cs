namespace VisionPlatform.Training.Routing;

/// <summary>
/// Lets an executor's transport tell the manager that a state-changing request was sent but never answered (the
/// attempt timed out or the connection broke mid-request). Such a request may still be applied by the server later,
/// so a lookup that finds nothing proves nothing: the manager then never moves the job to another executor.
/// The manager opens a scope around each start; the Kubernetes resilience handler records into it.
/// </summary>
internal sealed class UnansweredRequestScope
{
    private static readonly AsyncLocal<UnansweredRequestScope?> CurrentScope = new();
    private int _count;

    /// <summary>Whether any state-changing request in this scope went unanswered.</summary>
    public bool Any => Volatile.Read(ref _count) > 0;

    /// <summary>Opens a scope for the rest of the calling async flow.</summary>
    /// <returns>The scope.</returns>
    public static UnansweredRequestScope Begin()
    {
        var scope = new UnansweredRequestScope();
        CurrentScope.Value = scope;
        return scope;
    }

    /// <summary>Records an unanswered request in the current scope, if there is one.</summary>
    public static void RecordUnanswered()
    {
        if (CurrentScope.Value is { } scope)
        {
            Interlocked.Increment(ref scope._count);
        }
    }
}
