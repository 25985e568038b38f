using System.Diagnostics.CodeAnalysis;

namespace VisionPlatform.Training;

/// <summary>
/// A handle to one started run, in the spirit of an Azure long-running operation: it names the executor that runs
/// the job and the executor's own id for it. Persist <see cref="ToString"/> and rebuild it with <see cref="Parse"/>
/// after a host restart; status, logs and stop always go to the executor that started the run.
/// </summary>
public sealed class TrainingRun : IEquatable<TrainingRun>
{
    private const string Prefix = "run1";

    /// <summary>Creates a handle.</summary>
    /// <param name="executorName">The registered name of the executor that runs the job (for example <c>subprocess</c>).</param>
    /// <param name="jobId">The caller's job id.</param>
    /// <param name="resourceId">The executor's id for the run (a run directory, <c>namespace/job-name</c>, ...).</param>
    public TrainingRun(string executorName, string jobId, string resourceId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(executorName);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentException.ThrowIfNullOrEmpty(resourceId);
        ExecutorName = executorName;
        JobId = jobId;
        ResourceId = resourceId;
    }

    /// <summary>The registered name of the executor that runs this job.</summary>
    public string ExecutorName { get; }

    /// <summary>The caller's job id.</summary>
    public string JobId { get; }

    /// <summary>The executor's own id for the run.</summary>
    public string ResourceId { get; }

    /// <summary>Parses a handle produced by <see cref="ToString"/>.</summary>
    /// <param name="value">The persisted handle.</param>
    /// <returns>The handle.</returns>
    /// <exception cref="FormatException">The text is not a handle.</exception>
    public static TrainingRun Parse(string value) =>
        TryParse(value, out var run)
            ? run
            : throw new FormatException($"'{(value is { Length: > 100 } ? value[..100] + "..." : value)}' is not a training run handle: expected 'run1/<executor>/<resource-id>/<job-id>' with each part URI-escaped.");

    /// <summary>Tries to parse a handle produced by <see cref="ToString"/>.</summary>
    /// <param name="value">The persisted handle.</param>
    /// <param name="run">The handle, when parsing succeeded.</param>
    /// <returns>Whether the text was a valid handle.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out TrainingRun? run)
    {
        run = null;
        if (value is null)
        {
            return false;
        }

        var parts = value.Split('/');
        if (parts.Length != 4 || parts[0] != Prefix || parts.Skip(1).Any(p => p.Length == 0))
        {
            return false;
        }

        try
        {
            var executor = Uri.UnescapeDataString(parts[1]);
            if (string.IsNullOrWhiteSpace(executor))
            {
                return false;
            }

            run = new TrainingRun(executor, Uri.UnescapeDataString(parts[3]), Uri.UnescapeDataString(parts[2]));
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>The persistable form: <c>run1/&lt;executor&gt;/&lt;resource-id&gt;/&lt;job-id&gt;</c>, each part URI-escaped.</summary>
    public override string ToString() =>
        $"{Prefix}/{Uri.EscapeDataString(ExecutorName)}/{Uri.EscapeDataString(ResourceId)}/{Uri.EscapeDataString(JobId)}";

    /// <inheritdoc />
    public bool Equals(TrainingRun? other) =>
        other is not null &&
        string.Equals(ExecutorName, other.ExecutorName, StringComparison.Ordinal) &&
        string.Equals(JobId, other.JobId, StringComparison.Ordinal) &&
        string.Equals(ResourceId, other.ResourceId, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as TrainingRun);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(ExecutorName, JobId, ResourceId);

    /// <summary>Compares two handles by value.</summary>
    public static bool operator ==(TrainingRun? left, TrainingRun? right) => Equals(left, right);

    /// <summary>Compares two handles by value.</summary>
    public static bool operator !=(TrainingRun? left, TrainingRun? right) => !Equals(left, right);
}
