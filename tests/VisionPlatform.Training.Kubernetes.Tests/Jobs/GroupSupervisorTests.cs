using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using VisionPlatform.Training.TestSupport;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// The group supervisor program (Jobs/group_supervisor.py, exactly as the Job renders it) run with python3 as node rank
/// 0 and node rank 1 of a two-node group on loopback, each in front of a fake torchrun: a small Python child that reports
/// it started (its pid in a file), exits 143 on SIGTERM, or exits on its own with a given code. Every wait is for an
/// observed state (a file, a process exit), never a time.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GroupSupervisorTests : IDisposable
{
    private const string Python = "/usr/bin/python3";

    /// <summary>
    /// The fake torchrun: argv = ready-file exit-code|"wait" after-file|"-" [ignore-term]. Writes its pid to the ready
    /// file, then exits with the code (a negative one: killed by that signal) once the after-file exists (as a real
    /// torchrun ends only after its peers joined), or waits for SIGTERM (exit 143, or ignored).
    /// </summary>
    private const string Child = """
        import os, signal, sys, time
        ready, mode, after = sys.argv[1], sys.argv[2], sys.argv[3]
        ignore = len(sys.argv) > 4
        signal.signal(signal.SIGTERM, signal.SIG_IGN if ignore else (lambda *_: (print("child: SIGTERM", flush=True), os._exit(143))))
        with open(ready + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(ready + ".tmp", ready)
        if mode != "wait":
            while after != "-" and not os.path.exists(after):
                time.sleep(0.05)
            code = int(mode)
            if code < 0:
                os.kill(os.getpid(), -code)
            sys.exit(code)
        while True:
            time.sleep(0.05)
        """;

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("vp-group-supervisor-");
    private readonly int _port = TestPorts.Reserve();
    private readonly List<Process> _supervisors = [];

    [Fact]
    public async Task SIGTERM_on_a_peer_tells_rank_0_which_stops_its_torchrun_and_exits_75_while_the_peer_exits_with_its_torchruns_code()
    {
        var rank0 = Start(0, "wait");
        var peer = Start(1, "wait");
        await ReadyAsync(0, 1);

        Signal(peer.Process.Id, SigTerm).Should().BeTrue();

        (await ExitAsync(peer)).Should().Be(143, "the disrupted pod exits with torchrun's code (its DisruptionTarget condition is what the Job ignores)");
        (await ExitAsync(rank0)).Should().Be(75, "rank 0 leaves for the whole-group restart");
        rank0.Output.Should().Contain("child: SIGTERM", "rank 0's torchrun was stopped (its workers checkpoint on SIGTERM)")
            .And.Contain("a peer's pod was disrupted (SIGTERM): the whole group restarts");
        peer.Output.Should().Contain("child: SIGTERM").And.Contain("this pod was disrupted (SIGTERM): telling rank 0");
    }

    [Fact]
    public async Task SIGTERM_on_rank_0_tells_every_peer_which_stops_its_torchrun_and_exits_75()
    {
        var rank0 = Start(0, "wait");
        var peer = Start(1, "wait");
        await ReadyAsync(0, 1);

        Signal(rank0.Process.Id, SigTerm).Should().BeTrue();

        (await ExitAsync(rank0)).Should().Be(143);
        (await ExitAsync(peer)).Should().Be(75);
        peer.Output.Should().Contain("child: SIGTERM").And.Contain("rank 0 restarts the whole group");
    }

    [Fact]
    public async Task Without_a_notice_each_supervisor_exits_with_its_torchruns_own_code_and_a_signal_is_128_plus_its_number()
    {
        // Each fake torchrun ends once the other one started (a real one ends only after the rendezvous).
        var rank0 = Start(0, "3", after: ReadyFile(1));
        var peer = Start(1, "-9", after: ReadyFile(0));

        (await ExitAsync(rank0)).Should().Be(3, "a real failure keeps its exit code, so the Job's FailJob rules still apply");
        (await ExitAsync(peer)).Should().Be(137);
        rank0.Output.Should().NotContain("restart");
    }

    [Fact]
    public async Task A_torchrun_that_ignores_SIGTERM_is_killed_after_the_stop_time_and_the_restart_still_exits_75()
    {
        var rank0 = Start(0, "wait", ignoreTerm: true, stopSeconds: "0.5");
        var peer = Start(1, "wait");
        await ReadyAsync(0, 1);

        Signal(peer.Process.Id, SigTerm).Should().BeTrue();

        (await ExitAsync(rank0)).Should().Be(75);
        rank0.Output.Should().Contain("still running 0.5 s after SIGTERM: SIGKILL");
        (await ExitAsync(peer)).Should().Be(143);
    }

    [Fact]
    public async Task A_peer_waits_for_rank_0s_supervisor_before_it_starts_torchrun()
    {
        var peer = Start(1, "wait");
        // Rank 0 is not there: the peer says it waits, and its torchrun has not started.
        await WaitingForRank0Async(peer);
        File.Exists(ReadyFile(1)).Should().BeFalse("the peer starts torchrun only once it reached rank 0's supervisor");
        var rank0 = Start(0, "wait");
        await ReadyAsync(0, 1);

        Signal(rank0.Process.Id, SigTerm).Should().BeTrue();

        (await ExitAsync(peer)).Should().Be(75);
        (await ExitAsync(rank0)).Should().Be(143);
    }

    [Fact]
    public async Task A_strangers_connection_to_the_control_port_takes_no_peers_place_and_an_overlong_message_is_dropped()
    {
        var rank0 = Start(0, "wait");
        await ReadyAsync(0);
        // Something that is no peer connects first and sends a line longer than any control message: rank 0 closes it
        // (the end of the stream is the observation that rank 0 accepted and read it).
        using (var stranger = await ConnectAsync())
        {
            var stream = stranger.GetStream();
            await stream.WriteAsync(Enumerable.Repeat((byte)'x', 40).ToArray());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            (await ReadOrResetAsync(stream, timeout.Token)).Should().Be(0, "rank 0 closed the connection");
        }

        var peer = Start(1, "wait");
        await ReadyAsync(1);
        Signal(peer.Process.Id, SigTerm).Should().BeTrue();

        (await ExitAsync(rank0)).Should().Be(75, "the real peer still reached rank 0 and told it");
        (await ExitAsync(peer)).Should().Be(143);
    }

    [Fact]
    public async Task A_peer_stopped_before_rank_0_answers_exits_at_once_without_starting_torchrun()
    {
        var peer = Start(1, "wait");
        await WaitingForRank0Async(peer);

        Signal(peer.Process.Id, SigTerm).Should().BeTrue();

        (await ExitAsync(peer)).Should().Be(143);
        File.Exists(ReadyFile(1)).Should().BeFalse();
    }

    [Theory]
    [InlineData("PET_NODE_RANK")]
    [InlineData("VP_GROUP_CONTROL_PORT")]
    public async Task A_missing_setting_is_bad_input_naming_the_variable(string variable)
    {
        var supervisor = Start(0, "0", omit: variable);

        (await ExitAsync(supervisor)).Should().Be(2);
        supervisor.Output.Should().Contain($"environment variable {variable} is missing or invalid");
    }

    public void Dispose()
    {
        foreach (var supervisor in _supervisors)
        {
            if (!supervisor.HasExited)
            {
                supervisor.Kill(entireProcessTree: true);
                supervisor.WaitForExit();
            }

            supervisor.Dispose();
        }

        // Each fake torchrun leads its own process group (the supervisor starts it in a new session).
        foreach (var ready in Directory.EnumerateFiles(_dir.FullName, "ready-*"))
        {
            if (int.TryParse(File.ReadAllText(ready), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                _ = Signal(-pid, 9);
            }
        }

        _dir.Delete(recursive: true);
    }

    private sealed record Running(Process Process, System.Collections.Concurrent.ConcurrentQueue<string> Lines)
    {
        public string Output => string.Join('\n', Lines);
    }

    private string ReadyFile(int rank) => Path.Combine(_dir.FullName, $"ready-{rank.ToString(CultureInfo.InvariantCulture)}");

    private Running Start(int rank, string mode, bool ignoreTerm = false, string stopSeconds = "5", string? omit = null, string after = "-")
    {
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-c", DistributionStep.GroupSupervisorProgram, "--", Python, "-c", Child, ReadyFile(rank), mode, after })
        {
            start.ArgumentList.Add(argument);
        }

        if (ignoreTerm)
        {
            start.ArgumentList.Add("ignore-term");
        }

        var settings = new Dictionary<string, string>
        {
            ["PET_NODE_RANK"] = rank.ToString(CultureInfo.InvariantCulture),
            ["PET_NNODES"] = "2",
            ["PET_MASTER_ADDR"] = "127.0.0.1",
            ["VP_GROUP_CONTROL_PORT"] = _port.ToString(CultureInfo.InvariantCulture),
            ["VP_GROUP_STOP_SECONDS"] = stopSeconds,
        };
        foreach (var (name, value) in settings.Where(s => s.Key != omit))
        {
            start.Environment[name] = value;
        }

        // Both streams' lines into one bounded-by-the-test queue (the programs print a few lines each).
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lines.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lines.Enqueue(e.Data); } };
        process.Start();
        _supervisors.Add(process);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new Running(process, lines);
    }

    private async Task ReadyAsync(params int[] ranks) =>
        await Eventually.GetAsync(() => Task.FromResult(ranks.All(r => File.Exists(ReadyFile(r)))), ready => ready, "every fake torchrun to start", TimeSpan.FromSeconds(60));

    /// <summary>The bytes read, 0 at the end of the stream or when the other side reset the connection (it closed it).</summary>
    private static async Task<int> ReadOrResetAsync(System.Net.Sockets.NetworkStream stream, CancellationToken cancellationToken)
    {
        try
        {
            return await stream.ReadAsync(new byte[16], cancellationToken);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>A connection to rank 0's control port, retried until rank 0's supervisor listens.</summary>
    private async Task<System.Net.Sockets.TcpClient> ConnectAsync() =>
        await Eventually.GetAsync(
            async () =>
            {
                var client = new System.Net.Sockets.TcpClient();
                try
                {
                    await client.ConnectAsync(System.Net.IPAddress.Loopback, _port);
                    return client;
                }
                catch (System.Net.Sockets.SocketException)
                {
                    client.Dispose();
                    return null;
                }
            },
            c => c is not null,
            "rank 0's supervisor to listen",
            TimeSpan.FromSeconds(60)) ?? throw new InvalidOperationException("unreachable");

    private static async Task WaitingForRank0Async(Running peer) =>
        await Eventually.GetAsync(() => Task.FromResult(peer.Output), o => o.Contains("waiting for rank 0's supervisor at 127.0.0.1:", StringComparison.Ordinal), "the peer to wait for rank 0", TimeSpan.FromSeconds(60));

    private static async Task<int> ExitAsync(Running running)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // Completes once the process exited and both streams reached their end.
        await running.Process.WaitForExitAsync(timeout.Token);
        return running.Process.ExitCode;
    }

    private const int SigTerm = 15;

    /// <summary>Sends a signal (to a process group for a negative pid); false when the target is gone.</summary>
    private static bool Signal(int pid, int signal) => NativeMethods.kill(pid, signal) == 0;

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054 // a plain DllImport keeps the project free of AllowUnsafeBlocks
        public static extern int kill(int pid, int sig);
#pragma warning restore SYSLIB1054
    }
}
