using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Storage.Tests;

/// <summary>Collects every log line (message and exception) written through it.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(EventId Id, LogLevel Level, string Text)> Entries { get; } = new();

    public string AllText => string.Join(Environment.NewLine, Entries.Select(e => e.Text));

    /// <summary>Called on the logging thread for every entry, before it is queued (to see what was visible at that moment).</summary>
    public Action<EventId, string>? Writing { get; set; }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public ILogger<T> CreateLogger<T>() => new LoggerFactory([this]).CreateLogger<T>();

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = formatter(state, exception) + (exception is null ? string.Empty : Environment.NewLine + exception);
            owner.Writing?.Invoke(eventId, text);
            owner.Entries.Enqueue((eventId, logLevel, text));
        }
    }
}

/// <summary>A temporary directory deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Path = Directory.CreateTempSubdirectory("vp-storage-test-").FullName;

    public string Path { get; }

    public string File(string relative)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        return full;
    }

    public string Write(string relative, byte[] content)
    {
        var full = File(relative);
        System.IO.File.WriteAllBytes(full, content);
        return full;
    }

    /// <summary>Writes random bytes in 1 MiB blocks (without holding the file in memory).</summary>
    public string WriteRandom(string relative, long length, int seed)
    {
        var full = File(relative);
        var random = new Random(seed);
        var block = new byte[1024 * 1024];
        using var stream = System.IO.File.Create(full);
        for (long written = 0; written < length; written += block.Length)
        {
            random.NextBytes(block);
            stream.Write(block, 0, (int)Math.Min(block.Length, length - written));
        }

        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public static class Hashes
{
    public static string OfFile(string path)
    {
        using var stream = System.IO.File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static string Of(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static string Of(Stream stream) => Convert.ToHexStringLower(SHA256.HashData(stream));

    public static byte[] RandomBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}
