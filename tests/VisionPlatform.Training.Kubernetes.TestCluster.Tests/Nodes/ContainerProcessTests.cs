using System.Text.RegularExpressions;
using VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Nodes;

public sealed class ContainerProcessTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vp-process-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private PodLogWriter Log() => new(PodLogWriter.PathFor(_directory, "ml", "pod", "main"), TimeProvider.System);

    private ContainerLaunch Python(string code, IReadOnlyDictionary<string, string>? env = null) =>
        new("python3", ["-u", "-c", code], _directory, env ?? new Dictionary<string, string> { ["PATH"] = Environment.GetEnvironmentVariable("PATH")! });

    [Fact]
    public async Task Stdout_and_stderr_lines_become_timestamped_log_lines()
    {
        var log = Log();
        await using var process = ContainerProcess.Start(Python("import sys; print('out one'); sys.stderr.write('err two\\n'); sys.stderr.flush(); print('out three', end='')"), log);

        (await process.Exited.WaitAsync(TimeSpan.FromSeconds(30))).Should().Be(0);
        await process.DisposeAsync();

        var lines = await File.ReadAllLinesAsync(log.Path);
        lines.Should().HaveCount(3);
        lines.Select(l => l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]).Should().BeEquivalentTo(["out one", "err two", "out three"]);
        lines.Should().AllSatisfy(l => l.Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z "));
    }

    [Fact]
    public async Task Only_the_given_environment_reaches_the_process()
    {
        var log = Log();
        var env = new Dictionary<string, string> { ["PATH"] = Environment.GetEnvironmentVariable("PATH")!, ["ONLY_THIS"] = "yes" };
        await using var process = ContainerProcess.Start(new ContainerLaunch("/usr/bin/env", [], _directory, env), log);

        await process.Exited.WaitAsync(TimeSpan.FromSeconds(30));
        await process.DisposeAsync();

        var names = (await File.ReadAllLinesAsync(log.Path)).Select(l => l.Split(' ', 2)[1].Split('=')[0]);
        names.Should().BeEquivalentTo(["ONLY_THIS", "PATH"]);
    }

    [Fact]
    public async Task Stopping_sends_sigterm_to_the_whole_group_and_sigkill_after_the_grace_period()
    {
        var log = Log();
        // the child ignores SIGTERM like a data-loader worker; the main process ignores it too
        const string code = """
            import os, signal, subprocess, sys, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            child = subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)'])
            print('child', child.pid, flush=True)
            time.sleep(300)
            """;
        await using var process = ContainerProcess.Start(Python(code), log);
        var childPid = await WaitForChildPidAsync(log.Path);

        await process.StopAsync(TimeSpan.FromMilliseconds(500));

        (await process.Exited).Should().Be(137, "SIGTERM was ignored, so SIGKILL ended it");
        await WaitUntilGoneAsync(childPid);
    }

    [Fact]
    public async Task A_process_that_honours_sigterm_exits_with_143()
    {
        var log = Log();
        await using var process = ContainerProcess.Start(Python("import time; print('up', flush=True); time.sleep(300)"), log);
        await WaitForLineAsync(log.Path, "up");

        await process.StopAsync(TimeSpan.FromSeconds(20));

        (await process.Exited).Should().Be(143);
    }

    [Fact]
    public async Task An_oom_kill_is_a_sigkill_reported_as_oom()
    {
        var log = Log();
        await using var process = ContainerProcess.Start(Python("import time; print('up', flush=True); time.sleep(300)"), log);
        await WaitForLineAsync(log.Path, "up");

        process.KillAsOutOfMemory();

        (await process.Exited.WaitAsync(TimeSpan.FromSeconds(30))).Should().Be(137);
        process.OomKilled.Should().BeTrue();
    }

    [Fact]
    public async Task Children_left_behind_when_the_main_process_exits_are_killed()
    {
        var log = Log();
        const string code = """
            import subprocess, sys
            child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'], stdout=subprocess.DEVNULL)
            print('child', child.pid, flush=True)
            """;
        await using var process = ContainerProcess.Start(Python(code), log);

        (await process.Exited.WaitAsync(TimeSpan.FromSeconds(30))).Should().Be(0);
        var childPid = await WaitForChildPidAsync(log.Path);
        await WaitUntilGoneAsync(childPid);
    }

    private static async Task<int> WaitForChildPidAsync(string path)
    {
        var line = await WaitForLineAsync(path, "child ");
        return int.Parse(Regex.Match(line, @"child (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string> WaitForLineAsync(string path, string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(path))
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream);
                var content = await reader.ReadToEndAsync();
                var line = content.Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
                if (line is not null)
                {
                    return line;
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no line with '{text}' in {path}");
    }

    private static async Task WaitUntilGoneAsync(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            // a killed child of a killed parent is reaped by init; /proc/<pid> disappears (or shows a zombie briefly)
            var stat = $"/proc/{pid}/stat";
            if (!File.Exists(stat) || (await File.ReadAllTextAsync(stat)).Contains(") Z ", StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"process {pid} is still running");
    }
}
