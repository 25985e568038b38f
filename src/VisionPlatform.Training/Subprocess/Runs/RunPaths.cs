using System.Security.Cryptography;
using System.Text;

namespace VisionPlatform.Training.Subprocess.Runs;

/// <summary>
/// The layout of one run directory: <c>&lt;RunsDirectory&gt;/&lt;name&gt;/{state.json, train.log, train.log.idx, output/}</c>.
/// The name is a readable prefix of the job id (letters, digits, '.', '_', '-'; at most 40 characters) plus 16 hex
/// digits of the job id's SHA-256, because job ids may contain anything (slashes, '..', spaces, unicode).
/// </summary>
internal sealed class RunPaths
{
    private const int PrefixLength = 40;

    private RunPaths(string runsDirectory, string name)
    {
        Name = name;
        Directory = Path.Combine(runsDirectory, name);
    }

    /// <summary>The directory's name (the run handle's resource id).</summary>
    public string Name { get; }

    /// <summary>The run directory.</summary>
    public string Directory { get; }

    /// <summary>The persisted state.</summary>
    public string StateFile => Path.Combine(Directory, "state.json");

    /// <summary>The trainer's stdout and stderr, merged.</summary>
    public string LogFile => Path.Combine(Directory, "train.log");

    /// <summary>The sparse log timestamp index.</summary>
    public string IndexFile => Path.Combine(Directory, "train.log.idx");

    /// <summary>The trainer's exit status, written by the per-run supervisor.</summary>
    public string StatusFile => Path.Combine(Directory, Native.RunSupervisor.StatusFileName);

    /// <summary>The advanced config when it is too large for one argument (the json-config contract's <c>--config @path</c>).</summary>
    public string ConfigFile => Path.Combine(Directory, "config.json");

    /// <summary>torchrun's <c>--log_dir</c> for a distributed run (its per-attempt copies of every worker's streams).</summary>
    public string TorchRunLogDirectory => Path.Combine(Directory, "torchrun");

    /// <summary>Where the trainer writes results (<c>--output_dir</c>).</summary>
    public string OutputDirectory => Path.Combine(Directory, "output");

    /// <summary>The paths for a job id.</summary>
    /// <param name="runsDirectory">The absolute runs directory.</param>
    /// <param name="jobId">The job id.</param>
    public static RunPaths ForJob(string runsDirectory, string jobId) => new(runsDirectory, NameFor(jobId));

    /// <summary>The paths for a run handle's resource id, or <see langword="null"/> when it cannot be one of ours.</summary>
    /// <param name="runsDirectory">The absolute runs directory.</param>
    /// <param name="name">The directory name.</param>
    public static RunPaths? ForName(string runsDirectory, string name) =>
        IsValidName(name) ? new(runsDirectory, name) : null;

    /// <summary>The directory name for a job id.</summary>
    /// <param name="jobId">The job id.</param>
    public static string NameFor(string jobId)
    {
        var prefix = new StringBuilder(PrefixLength);
        foreach (var c in jobId)
        {
            if (prefix.Length == PrefixLength)
            {
                break;
            }

            prefix.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' || (c == '.' && prefix.Length > 0) ? c : '_');
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(jobId)).AsSpan(0, 8));
        return prefix.Append('-').Append(hash).ToString();
    }

    private static bool IsValidName(string name) =>
        name.Length is > 17 and <= PrefixLength + 17 &&
        name[0] != '.' &&
        name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');
}
