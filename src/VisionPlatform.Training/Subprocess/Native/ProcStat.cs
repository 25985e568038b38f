using System.Globalization;

namespace VisionPlatform.Training.Subprocess.Native;

/// <summary>The fields of <c>/proc/&lt;pid&gt;/stat</c> the executor uses.</summary>
/// <param name="Pid">The process id.</param>
/// <param name="State">Field 3: R, S, D, Z (zombie), X (dead), ...</param>
/// <param name="ProcessGroup">Field 5.</param>
/// <param name="Session">Field 6.</param>
/// <param name="StartTicks">Field 22: start time in clock ticks since boot.</param>
internal readonly record struct ProcStat(int Pid, char State, int ProcessGroup, int Session, long StartTicks)
{
    private static readonly Lazy<string?> CurrentBootId = new(() =>
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    });

    /// <summary>The kernel's boot id, so a pid and start time recorded before a reboot are not trusted after it.</summary>
    public static string? BootId => CurrentBootId.Value;

    /// <summary>Whether the process has ended and waits to be reaped.</summary>
    public bool IsZombie => State is 'Z' or 'X';

    /// <summary>Reads one process's stat line.</summary>
    /// <param name="pid">The process id.</param>
    /// <returns>The fields, or <see langword="null"/> when no such process exists.</returns>
    public static ProcStat? Read(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        return Parse(pid, text);
    }

    /// <summary>Parses a stat line. The command name (field 2) may contain spaces and parentheses, so fields are counted after the last ')'.</summary>
    /// <param name="pid">The process id.</param>
    /// <param name="text">The line.</param>
    /// <returns>The fields, or <see langword="null"/> when the line is malformed.</returns>
    public static ProcStat? Parse(int pid, string text)
    {
        var close = text.LastIndexOf(')');
        if (close < 0 || close + 2 >= text.Length)
        {
            return null;
        }

        var fields = text[(close + 2)..].Split(' ');
        if (fields.Length < 20 ||
            !int.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var group) ||
            !int.TryParse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var session) ||
            !long.TryParse(fields[19], NumberStyles.Integer, CultureInfo.InvariantCulture, out var start))
        {
            return null;
        }

        return new ProcStat(pid, fields[0].Length > 0 ? fields[0][0] : '?', group, session, start);
    }

    /// <summary>Every process whose session or process group is <paramref name="id"/>, except <paramref name="id"/> itself.</summary>
    /// <param name="id">The session and group id (the trainer's pid).</param>
    /// <returns>The members' pids.</returns>
    public static List<int> FindSessionMembers(int id)
    {
        var members = new List<int>();
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateDirectories("/proc");
        }
        catch (IOException)
        {
            return members;
        }

        foreach (var dir in entries)
        {
            var name = Path.GetFileName(dir.AsSpan());
            if (!int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == id)
            {
                continue;
            }

            if (Read(pid) is { } stat && (stat.Session == id || stat.ProcessGroup == id))
            {
                members.Add(pid);
            }
        }

        return members;
    }
}
