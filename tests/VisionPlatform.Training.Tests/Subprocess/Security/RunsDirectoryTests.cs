using System.Diagnostics;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess.Security;

/// <summary>
/// Issue 13, finding 2: the runs directory and the files in it. It must be the host's own (created 0700, refused when
/// another user owns it or group/others may write it, or it is a symbolic link); run directories are 0700 and files
/// 0600; no symbolic link is followed for state, log and status; a FIFO or a directory where a run file belongs
/// neither hangs nor breaks the scan.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RunsDirectoryTests : IAsyncLifetime
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public void A_runs_directory_writable_by_group_or_others_is_refused_at_construction_with_the_path_and_the_fix()
    {
        Directory.CreateDirectory(_ctx.RunsDirectory);
        File.SetUnixFileMode(_ctx.RunsDirectory, Private | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute | UnixFileMode.OtherRead);

        var act = () => _ctx.CreateExecutor(ProbePy);

        var error = act.Should().Throw<TrainingException>().Which;
        error.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        error.Message.Should().Contain(_ctx.RunsDirectory).And.Contain("chmod 700").And.Contain("Training:Subprocess:RunsDirectory");
        error.Message.Should().NotContain("\n");
    }

    [Fact]
    public void A_runs_directory_owned_by_another_user_is_refused_at_construction()
    {
        Directory.CreateDirectory(_ctx.RunsDirectory);
        if (Environment.UserName == "root" || Run("id", "-u") == "0")
        {
            // As root the test can give the directory away; otherwise use one root owns.
            Run("chown", "65534", _ctx.RunsDirectory);
        }

        var options = _ctx.NewOptions(ProbePy);
        if (Run("id", "-u") != "0")
        {
            options.Subprocess.RunsDirectory = "/usr";
        }

        var act = () => _ctx.CreateExecutor(options);

        act.Should().Throw<TrainingException>().Which.Message.Should().Contain("is owned by uid").And.Contain("not by this host's uid");
    }

    [Fact]
    public void A_runs_directory_that_is_a_symbolic_link_is_refused()
    {
        var elsewhere = Path.Combine(_ctx.Root, "elsewhere");
        Directory.CreateDirectory(elsewhere);
        File.SetUnixFileMode(elsewhere, Private);
        File.CreateSymbolicLink(_ctx.RunsDirectory, elsewhere);

        var act = () => _ctx.CreateExecutor(ProbePy);

        act.Should().Throw<TrainingException>().Which.Message.Should().Contain("a symbolic link");
    }

    [Fact]
    public async Task The_runs_directory_and_run_directories_are_0700_and_run_files_0600()
    {
        var executor = _ctx.CreateExecutor(ProbePy);
        var run = await executor.StartAsync(Job("job-private").Build());
        (await WaitTerminalAsync(executor, run)).Phase.Should().Be(TrainingPhase.Succeeded);
        var dir = _ctx.RunDirectory(run);

        File.GetUnixFileMode(_ctx.RunsDirectory).Should().Be(Private);
        File.GetUnixFileMode(dir).Should().Be(Private);
        File.GetUnixFileMode(Path.Combine(dir, "output")).Should().Be(Private);
        foreach (var file in new[] { "state.json", "train.log", "train.log.idx", "exit-status.json" })
        {
            File.GetUnixFileMode(Path.Combine(dir, file)).Should().Be(PrivateFile, file);
        }
    }

    [Fact]
    public async Task A_symlinked_train_log_is_not_written_through()
    {
        var target = Path.Combine(_ctx.Root, "victim.txt");
        File.WriteAllText(target, "");
        var job = Job("job-symlinked-log").Build();
        var dir = Path.Combine(_ctx.RunsDirectory, RunDirectoryName(job.JobId));
        Directory.CreateDirectory(dir);
        File.CreateSymbolicLink(Path.Combine(dir, "train.log"), target);

        var executor = _ctx.CreateExecutor(ProbePy);
        var run = await executor.StartAsync(job);
        var status = await WaitTerminalAsync(executor, run);

        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.LaunchFailed);
        status.Message.Should().Contain("symbolic link");
        File.ReadAllText(target).Should().BeEmpty("the trainer's output never goes through a planted link");
    }

    [Fact]
    public async Task A_fifo_or_a_directory_named_state_json_or_train_log_neither_hangs_nor_breaks_the_scan()
    {
        var executor = _ctx.CreateExecutor(ProbePy);
        var good = await executor.StartAsync(Job("job-good").Build());
        (await WaitTerminalAsync(executor, good)).Phase.Should().Be(TrainingPhase.Succeeded);
        var fifoLog = await executor.StartAsync(Job("job-fifo-log").Build());
        await WaitTerminalAsync(executor, fifoLog);
        await executor.DisposeAsync();

        var fifoState = Path.Combine(_ctx.RunsDirectory, RunDirectoryName("job-fifo-state"));
        Directory.CreateDirectory(fifoState);
        Run("mkfifo", Path.Combine(fifoState, "state.json"));
        var dirState = Path.Combine(_ctx.RunsDirectory, RunDirectoryName("job-dir-state"));
        Directory.CreateDirectory(Path.Combine(dirState, "state.json"));
        var log = Path.Combine(_ctx.RunDirectory(fifoLog), "train.log");
        File.Delete(log);
        Run("mkfifo", log);

        var next = _ctx.CreateExecutor(ProbePy);
        // On a thread of their own: a FIFO opened for reading blocks until a writer comes, which must not happen.
        var listed = await Task.Run(() => next.ListAsync()).WaitAsync(TimeSpan.FromSeconds(20));
        var lines = await Task.Run(() => ReadLinesOrErrorAsync(next, fifoLog)).WaitAsync(TimeSpan.FromSeconds(20));

        listed.Select(s => s.JobId).Should().BeEquivalentTo(["job-good", "job-fifo-log"]);
        lines.Should().BeEmpty("a FIFO is not read as a log");
        (await next.FindAsync("job-fifo-state")).Should().BeNull();
        (await next.GetStatusAsync(good)).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    private static async Task<List<string>> ReadLinesOrErrorAsync(ITrainingExecutor executor, TrainingRun run)
    {
        try
        {
            return await ReadLogAsync(executor, run);
        }
        catch (IOException)
        {
            return [];
        }
    }

    private static string RunDirectoryName(string jobId) =>
        VisionPlatform.Training.Subprocess.Runs.RunPaths.NameFor(jobId);

    private static string Run(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return output;
    }
}
