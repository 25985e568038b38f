using Microsoft.Extensions.Time.Testing;

namespace VisionPlatform.Training.Testing.Tests;

/// <summary>Builders and helpers shared by the tests.</summary>
internal static class TestJobs
{
    public static readonly DateTimeOffset Epoch = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public static FakeTimeProvider Clock() => new(Epoch);

    /// <summary>How long a test waits for events at most (the machine is shared and loaded).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>The Testing package's sample YOLO job.</summary>
    public static TrainingJobConfig Config(
        string jobId = "job-1",
        int epochs = 2,
        string? projectId = null,
        IDictionary<string, string>? labels = null) =>
        SampleJobs.Yolo(jobId, epochs, projectId, labels);

    /// <summary>Reads a whole stream (with a deadline so a stream that never ends fails the test instead of hanging it).</summary>
    public static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> source, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        var list = new List<T>();
        await foreach (var item in source.WithCancellation(cts.Token))
        {
            list.Add(item);
        }

        return list;
    }

    /// <summary>Polls until the condition holds; fails after a generous deadline (the machine is shared and loaded).</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string because, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Timed out waiting until " + because);
            }

            await Task.Delay(20);
        }
    }
}
