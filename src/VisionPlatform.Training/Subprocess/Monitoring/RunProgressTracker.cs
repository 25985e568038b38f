using VisionPlatform.Training.Subprocess.Logs;

namespace VisionPlatform.Training.Subprocess.Monitoring;

/// <summary>
/// The latest progress of one run and, while someone wants its progress or log lines, the follower of its log.
/// Every log byte is looked at once: a follower reads forward from where the last look ended; a status read without a
/// follower scans backwards only the part written since (see <see cref="ProgressTail"/>).
/// </summary>
internal sealed class RunProgressTracker(string logFile)
{
    private readonly object _gate = new();
    private long _scannedTo;
    private bool _final;
    private TrainingProgress? _latest;
    private bool _following;
    private LogLineReader? _reader;

    /// <summary>Whether a follower reads the log now.</summary>
    public bool IsFollowing
    {
        get
        {
            lock (_gate)
            {
                return _following;
            }
        }
    }

    /// <summary>The latest progress line of the log, as of now.</summary>
    /// <param name="finished">Whether the trainer has exited (then its last line counts even without a newline, and the answer is kept for good).</param>
    /// <param name="now">The time given to a progress line seen for the first time.</param>
    public TrainingProgress? Latest(bool finished, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (!_following && !_final)
            {
                ScanTail(finished, now);
            }

            return _latest;
        }
    }

    /// <summary>Starts following the log.</summary>
    /// <param name="fromStart">
    /// Whether the run has just been launched: then every line is read from the beginning. Otherwise (interest in a run
    /// that has been running for a while, or a run found after a restart) the latest progress is taken from the tail and
    /// following starts at the end, so a long log is never read forward.
    /// </param>
    /// <param name="now">The time given to a progress line found in the tail.</param>
    /// <returns>The latest progress found in the tail, when following started at the end.</returns>
    public TrainingProgress? StartFollowing(bool fromStart, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_following || _final)
            {
                return null;
            }

            var before = _latest;
            if (fromStart)
            {
                // Every line from the beginning, even when a status read has already scanned the tail (it publishes
                // nothing): on a loaded machine the trainer may have written its first lines before the launch was
                // recorded, and a follower starting at that scan's end would never publish them.
                _scannedTo = 0;
                _reader?.Dispose();
                _reader = null;
                _following = true;
                return null;
            }

            ScanTail(finished: false, now);

            // The log is opened on the first read (a trainer just launched may not have created it yet).
            _following = true;
            return ReferenceEquals(before, _latest) ? null : _latest;
        }
    }

    /// <summary>Reads the lines written since the last read and publishes them.</summary>
    /// <param name="publisher">Where to publish.</param>
    /// <param name="run">The run.</param>
    /// <param name="finished">Whether the trainer has exited (a last line without a newline is read too).</param>
    /// <param name="now">The time the lines were observed.</param>
    public void Follow(ITrainingEventPublisher publisher, TrainingRun run, bool finished, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (!_following || (_reader ??= TryOpen(_scannedTo)) is not { } reader)
            {
                return;
            }

            var logs = publisher.WantsLogs(run.JobId);
            while (reader.TryReadLine(finished, out _, out var text))
            {
                if (TrainingProgressProtocol.TryParse(text, now, out var progress))
                {
                    _latest = progress;
                    publisher.PublishProgress(run, progress);
                }

                if (logs)
                {
                    publisher.PublishLog(run, new TrainingLogLine(text, now));
                }
            }

            _scannedTo = reader.Position;
        }
    }

    /// <summary>Stops following; the latest progress is kept and later reads continue from where the follower ended.</summary>
    /// <param name="finished">Whether the trainer has exited: then nothing more will be written.</param>
    public void StopFollowing(bool finished)
    {
        lock (_gate)
        {
            // After a final read everything the trainer wrote has been seen; without one, a later status read scans the tail.
            _final |= finished && _reader is not null;
            _reader?.Dispose();
            _reader = null;
            _following = false;
        }
    }

    private void ScanTail(bool finished, DateTimeOffset now)
    {
        try
        {
            var (end, last) = ProgressTail.Scan(logFile, _scannedTo, finished, now);
            _scannedTo = end;
            if (last is not null)
            {
                _latest = last;
            }

            _final = finished;
        }
        catch (IOException)
        {
            // The run directory was removed or the disk failed: the progress stays as last known.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private LogLineReader? TryOpen(long offset)
    {
        try
        {
            return new LogLineReader(logFile, offset);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }
}
