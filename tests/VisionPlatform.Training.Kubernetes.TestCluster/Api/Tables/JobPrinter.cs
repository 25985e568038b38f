using System.Globalization;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;

/// <summary>
/// printJob of the 1.34 printers (the version the test cluster reports): STATUS from the conditions in the printer's
/// order (Complete, Failed, Terminating for a Job being deleted, Suspended, FailureTarget, SuccessCriteriaMet, else
/// Running), COMPLETIONS as <c>succeeded/completions</c> (<c>n/1 of P</c> for a work queue with parallelism P),
/// DURATION from startTime to completionTime or to now, nothing before the Job started.
/// </summary>
internal static class JobPrinter
{
    public static ResourcePrinter Printer { get; } = new(
    [
        TableColumn.ObjectName,
        new("Status", "string", "Status of the job."),
        new("Completions", "string", "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs."),
        new("Duration", "string", "Time required to complete the job."),
        TableColumn.Age,
        new("Containers", "string", "Names of each container in the template.", 1),
        new("Images", "string", "Images referenced by each container in the template.", 1),
        new("Selector", "string", "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors", 1),
    ], Print);

    private static PrintedRow Print(JsonObject job, DateTimeOffset now)
    {
        var succeeded = Json.GetLong(job, "status", "succeeded") ?? 0;
        string completions;
        if (Json.GetLong(job, "spec", "completions") is { } wanted)
        {
            completions = Invariant($"{succeeded}/{wanted}");
        }
        else
        {
            var parallelism = Json.GetLong(job, "spec", "parallelism") ?? 0;
            completions = parallelism > 1 ? Invariant($"{succeeded}/1 of {parallelism}") : Invariant($"{succeeded}/1");
        }

        var started = Json.ParseTime(Json.GetString(job, "status", "startTime"));
        var completed = Json.ParseTime(Json.GetString(job, "status", "completionTime"));
        var duration = started is not { } start ? "" : HumanDuration.Format((completed ?? now) - start);

        bool Is(string type) => PrintFormat.ConditionStatus(job, type) == "True";
        var status = true switch
        {
            _ when Is("Complete") => "Complete",
            _ when Is("Failed") => "Failed",
            _ when Json.GetString(job, "metadata", "deletionTimestamp") is not null => "Terminating",
            _ when Is("Suspended") => "Suspended",
            _ when Is("FailureTarget") => "FailureTarget",
            _ when Is("SuccessCriteriaMet") => "SuccessCriteriaMet",
            _ => "Running",
        };

        var template = Json.Walk(job, "spec", "template", "spec");
        var (names, images) = PrintFormat.Containers(template);
        return new PrintedRow(
        [
            Json.GetString(job, "metadata", "name"),
            status,
            completions,
            duration,
            HumanDuration.Since(Json.GetString(job, "metadata", "creationTimestamp"), now),
            names,
            images,
            PrintFormat.LabelSelector(Json.Walk(job, "spec", "selector")),
        ]);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
