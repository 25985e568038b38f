namespace VisionPlatform.Training.Storage;

/// <summary>One archived piece of a run's log (see <see cref="IRunLogArchive"/>).</summary>
/// <param name="JobId">The job id.</param>
/// <param name="Attempt">The attempt (1-based; a retry is a new attempt).</param>
/// <param name="Rank">The node rank (0 for a job of one node).</param>
/// <param name="Sequence">The chunk's place in the attempt and rank's log, from 0.</param>
/// <param name="Text">The lines, each ending with <c>\n</c>, each starting with its RFC 3339 timestamp and a space when it has one.</param>
public sealed record RunLogChunk(string JobId, int Attempt, int Rank, long Sequence, string Text);

/// <summary>The description of an archived chunk (see <see cref="IRunLogArchive.ListLogChunksAsync"/>).</summary>
/// <param name="Attempt">The attempt (1-based).</param>
/// <param name="Rank">The node rank.</param>
/// <param name="Sequence">The chunk's place in the attempt and rank's log, from 0.</param>
/// <param name="Size">The chunk's size in bytes.</param>
public sealed record RunLogChunkInfo(int Attempt, int Rank, long Sequence, long Size);
