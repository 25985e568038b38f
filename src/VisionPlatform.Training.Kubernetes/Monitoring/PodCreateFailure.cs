using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The Job controller's latest <c>FailedCreate</c> Warning Event for a Job: the API server refused the Job's pod (quota,
/// Pod Security, LimitRange, a missing ServiceAccount). Kubernetes says so only as an Event, never on the Job.
/// </summary>
/// <param name="Message">The event's message (<c>Error creating: &lt;the API server's message&gt;</c>).</param>
/// <param name="FirstSeen">When the refusals began (the event's first timestamp, kept across repeats).</param>
/// <param name="LastSeen">When the latest refusal happened.</param>
internal sealed record PodCreateFailure(string Message, DateTime FirstSeen, DateTime LastSeen)
{
    /// <summary>The Events that carry pod refusals: the Job controller's FailedCreate on Jobs (a field selector every API server supports).</summary>
    public const string FieldSelector = "involvedObject.kind=Job,reason=FailedCreate";

    /// <summary>Reads a FailedCreate event; null when it is not one for a Job or carries no time.</summary>
    /// <param name="e">The event.</param>
    /// <param name="jobName">The Job it is about.</param>
    /// <param name="jobUid">That Job's UID (a Job recreated under the same name is another run).</param>
    public static PodCreateFailure? From(Corev1Event e, out string jobName, out string? jobUid)
    {
        jobName = e.InvolvedObject?.Name ?? string.Empty;
        jobUid = e.InvolvedObject?.Uid;
        if (e.Reason != "FailedCreate" || e.InvolvedObject?.Kind != "Job" || jobName.Length == 0)
        {
            return null;
        }

        var last = e.LastTimestamp ?? e.EventTime ?? e.Metadata?.CreationTimestamp;
        var first = e.FirstTimestamp ?? e.EventTime ?? last;
        return last is null || first is null ? null : new PodCreateFailure(e.Message ?? "the pod was refused", first.Value, last.Value);
    }

    /// <summary>Merges another report of the Job's refusals: the earliest first time, the latest report's message and time.</summary>
    /// <param name="other">The other report.</param>
    public PodCreateFailure Merge(PodCreateFailure other)
    {
        var latest = other.LastSeen >= LastSeen ? other : this;
        return latest with { FirstSeen = FirstSeen < other.FirstSeen ? FirstSeen : other.FirstSeen };
    }
}
