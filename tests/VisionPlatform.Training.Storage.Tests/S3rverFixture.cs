using System.Diagnostics;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace VisionPlatform.Training.Storage.Tests;

/// <summary>
/// A real S3-compatible server (s3rver 3.7.1 on Node.js) on loopback for the whole test collection. Started once,
/// killed with its process tree on dispose; its data directory is deleted.
/// </summary>
public sealed partial class S3rverFixture : IAsyncLifetime
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";
    public const string Bucket = "vp-artifacts";

    private static readonly SemaphoreSlim InstallLock = new(1, 1);
    private Process? _process;
    private string? _dataDirectory;

    public string ServiceUrl { get; private set; } = string.Empty;

    public int Port { get; private set; }

    /// <summary>A plain SDK client, independent of the code under test, to check what the server really stored.</summary>
    public AmazonS3Client RawClient { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var serverDirectory = FindServerDirectory();
        await EnsureInstalledAsync(serverDirectory);

        _dataDirectory = Directory.CreateTempSubdirectory("vp-s3rver-").FullName;

        // durable-s3rver.js runs s3rver with PUTs that are atomic and written before they are answered, as on S3 (see the
        // script). s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers through its
        // legacy provider.
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = serverDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--openssl-legacy-provider", "durable-s3rver.js", "-d", _dataDirectory, "-a", "127.0.0.1", "-p", "0", "-s" })
        {
            start.ArgumentList.Add(arg);
        }

        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("'node' was not found: the storage tests need Node.js 20 (run .ci/install-test-deps, or apt-get install nodejs npm).", e);
        }

        var ready = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null && ListeningLine().Match(e.Data) is { Success: true } m)
            {
                ready.TrySetResult(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                errors.Enqueue(e.Data);
            }
        };
        _process.EnableRaisingEvents = true;
        _process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("s3rver exited before listening: " + string.Join(Environment.NewLine, errors)));
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        Port = await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        ServiceUrl = $"http://127.0.0.1:{Port}";
        RawClient = CreateRawClient(ServiceUrl);
        await RawClient.PutBucketAsync(new PutBucketRequest { BucketName = Bucket });
    }

    public Task DisposeAsync()
    {
        RawClient?.Dispose();
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process?.Dispose();
        if (_dataDirectory is not null)
        {
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // The temp directory is cleaned up by the OS eventually; a failed delete must not fail the run.
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Options for the store under test, pointing at this server (or another URL, such as a proxy in front of it).</summary>
    public ArtifactStorageOptions Options(string? serviceUrl = null, string? prefix = null) => new()
    {
        ServiceUrl = serviceUrl ?? ServiceUrl,
        Bucket = Bucket,
        AccessKeyId = AccessKey,
        SecretAccessKey = SecretKey,
        Prefix = prefix ?? "jobs-" + Guid.NewGuid().ToString("N")[..8],
        RetryBaseDelay = TimeSpan.FromMilliseconds(50),
    };

    public static AmazonS3Client CreateRawClient(string serviceUrl) => new(
        new BasicAWSCredentials(AccessKey, SecretKey),
        new AmazonS3Config
        {
            ServiceURL = serviceUrl,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });

    private static string FindServerDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            // Beside this project's output, or (when another test project links this fixture) in this project's folder.
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "s3rver"), Path.Combine(dir.FullName, "VisionPlatform.Training.Storage.Tests", "s3rver") })
            {
                if (File.Exists(Path.Combine(candidate, "package-lock.json")))
                {
                    return candidate;
                }
            }
        }

        throw new InvalidOperationException($"The s3rver folder (package.json + package-lock.json) was not found above {AppContext.BaseDirectory}.");
    }

    private static async Task EnsureInstalledAsync(string serverDirectory)
    {
        if (File.Exists(Path.Combine(serverDirectory, "node_modules", "s3rver", "bin", "s3rver.js")))
        {
            return;
        }

        await InstallLock.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(serverDirectory, "node_modules", "s3rver", "bin", "s3rver.js")))
            {
                return;
            }

            // A fresh machine: install the pinned server once (CI does this in .ci/install-test-deps).
            var (code, output) = await RunAsync("npm", serverDirectory, "ci", "--no-audit", "--no-fund");
            if (code != 0)
            {
                throw new InvalidOperationException($"'npm ci' in {serverDirectory} failed ({code}): {output}");
            }
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string fileName, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(
                $"'{fileName}' was not found: the storage tests need Node.js 20 and npm (run .ci/install-test-deps, or apt-get install nodejs npm).", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
            return (process.ExitCode, await stdout + await stderr);
        }
    }

    [GeneratedRegex(@"S3rver listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();
}

[CollectionDefinition(Name)]
public sealed class S3rverCollection : ICollectionFixture<S3rverFixture>
{
    public const string Name = "s3rver";
}
