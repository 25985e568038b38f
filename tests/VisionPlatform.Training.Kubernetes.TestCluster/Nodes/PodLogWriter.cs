using System.Text;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>
/// Appends one container's output to its log file the way the kubelet's CRI log does: one line per output line,
/// prefixed with an RFC 3339 timestamp with nanoseconds and a space; stdout and stderr interleaved in arrival order.
/// </summary>
internal sealed class PodLogWriter : IDisposable
{
    private readonly Lock _gate = new();
    private readonly StreamWriter _writer;
    private readonly TimeProvider _time;
    private bool _disposed;

    public PodLogWriter(string path, TimeProvider time)
    {
        Path = path;
        _time = time;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        _writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { AutoFlush = true, NewLine = "\n" };
    }

    /// <summary>The log file.</summary>
    public string Path { get; }

    /// <summary>Builds the log path the API server serves <c>pods/log</c> from.</summary>
    public static string PathFor(string dataDirectory, string ns, string podName, string containerName) =>
        System.IO.Path.Combine(dataDirectory, "logs", ns, podName, containerName + ".log");

    public void WriteLine(string text)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _writer.Write(KubeJson.LogTimestamp(_time.GetUtcNow()));
            _writer.Write(' ');
            _writer.WriteLine(text);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _writer.Dispose();
        }
    }
}
