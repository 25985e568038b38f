using System.Collections.Concurrent;

namespace VisionPlatform.Training.Routing;

/// <summary>
/// Remembers, for the most recent job ids this process started, which executor has the run, and which job ids may
/// exist on an executor after an ambiguous failure. Routing consults it so a job id never runs on two executors:
/// a repeated start goes to the executor that has the run, and a run that may have been created (a request was sent
/// but never answered) binds the job id to that executor for good. Bounded: the oldest entries are forgotten first.
/// </summary>
internal sealed class RunPlacementJournal(int capacity)
{
    private readonly ConcurrentDictionary<string, Placement> _placements = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    public bool TryGet(string jobId, out Placement placement) => _placements.TryGetValue(jobId, out placement!);

    public void Started(string jobId, string executorName) => Set(jobId, new Placement(executorName, Certain: true));

    public void MaybeStarted(string jobId, string executorName) => Set(jobId, new Placement(executorName, Certain: false));

    private void Set(string jobId, Placement placement)
    {
        // Starts of one job id are serialised by routing, so add-or-update needs no further coordination.
        var isNew = !_placements.ContainsKey(jobId);
        _placements[jobId] = placement;
        if (!isNew)
        {
            return;
        }

        _order.Enqueue(jobId);
        while (_order.Count > capacity && _order.TryDequeue(out var oldest))
        {
            _placements.TryRemove(oldest, out _);
        }
    }

    /// <summary>Where a job's run is, and whether that is known or only possible.</summary>
    /// <param name="ExecutorName">The executor.</param>
    /// <param name="Certain">Whether the executor confirmed the run (otherwise an ambiguous failure may have created it).</param>
    internal sealed record Placement(string ExecutorName, bool Certain);
}
