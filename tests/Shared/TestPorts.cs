using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace VisionPlatform.Training.TestSupport;

/// <summary>
/// Ports for things a test starts that must know their port in advance (a torchrun rendezvous, a standalone server given
/// <c>--port</c>, a listener that cannot bind port 0). The usual trick, binding port 0 and closing it, hands out a port
/// from the kernel's ephemeral range, which every outgoing connection also draws from: on a busy machine a client's
/// socket can take the port between the probe and the real bind (a torch group failed with its rank 0 exiting at once
/// that way). These ports come from below the ephemeral range instead, where only explicit binds compete, are checked
/// bindable right before they are handed out, and are never handed out twice by one process.
/// </summary>
internal static class TestPorts
{
    private const int Lowest = 20_000;
    private static readonly Lock Gate = new();
    private static readonly HashSet<int> Handed = [];
    private static int s_next = -1;

    /// <summary>A loopback port nothing listens on now, outside the ephemeral range, not handed out before by this process.</summary>
    public static int Reserve()
    {
        var (low, high) = Range();
        lock (Gate)
        {
            if (s_next < 0)
            {
                // A random start per process: test assemblies run side by side and must not walk the same ports.
                s_next = Random.Shared.Next(low, high);
            }

            for (var tried = 0; tried < high - low; tried++)
            {
                var port = s_next;
                s_next = s_next + 1 >= high ? low : s_next + 1;
                if (!Handed.Contains(port) && IsFree(port))
                {
                    Handed.Add(port);
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"No free loopback port between {low} and {high}.");
    }

    /// <summary>The ports to use: from 20000 up to the ephemeral range's start (32768 on Linux by default).</summary>
    private static (int Low, int High) Range()
    {
        var high = 32_768;
        try
        {
            var text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (text.Length >= 1 && int.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out var start) && start > Lowest + 1_000)
            {
                high = start;
            }
        }
        catch (IOException)
        {
            // Not Linux, or not readable: keep the default.
        }
        catch (UnauthorizedAccessException)
        {
        }

        return (Lowest, high);
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
