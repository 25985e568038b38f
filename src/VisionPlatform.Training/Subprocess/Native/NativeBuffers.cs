using System.Runtime.InteropServices;
using System.Text;

namespace VisionPlatform.Training.Subprocess.Native;

/// <summary>Native allocations for one spawn, all freed together. Strings are written as exact UTF-8 with a NUL terminator.</summary>
internal sealed class NativeBuffers : IDisposable
{
    private readonly List<IntPtr> _allocations = [];

    /// <summary>Allocates zeroed memory.</summary>
    /// <param name="size">Bytes.</param>
    /// <returns>The pointer.</returns>
    public IntPtr Alloc(int size)
    {
        var p = Marshal.AllocHGlobal(size);
        _allocations.Add(p);
        var zeros = new byte[size];
        Marshal.Copy(zeros, 0, p, size);
        return p;
    }

    /// <summary>Copies a string as NUL-terminated UTF-8.</summary>
    /// <param name="value">The string (must not contain NUL).</param>
    /// <returns>The pointer.</returns>
    public IntPtr Utf8(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        var p = Marshal.AllocHGlobal(bytes.Length + 1);
        _allocations.Add(p);
        Marshal.Copy(bytes, 0, p, bytes.Length);
        Marshal.WriteByte(p, bytes.Length, 0);
        return p;
    }

    /// <summary>Builds a NULL-terminated array of NUL-terminated UTF-8 strings (argv or envp).</summary>
    /// <param name="values">The strings.</param>
    /// <returns>The pointer to the array.</returns>
    public IntPtr StringArray(IReadOnlyList<string> values)
    {
        var array = Marshal.AllocHGlobal((values.Count + 1) * IntPtr.Size);
        _allocations.Add(array);
        for (var i = 0; i < values.Count; i++)
        {
            Marshal.WriteIntPtr(array, i * IntPtr.Size, Utf8(values[i]));
        }

        Marshal.WriteIntPtr(array, values.Count * IntPtr.Size, IntPtr.Zero);
        return array;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var p in _allocations)
        {
            Marshal.FreeHGlobal(p);
        }

        _allocations.Clear();
    }
}
