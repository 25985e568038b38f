namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Stores an optional Kubernetes timestamp in a plain <see cref="DateTime"/> (8 bytes instead of the 16 of a
/// <see cref="Nullable{DateTime}"/>), with <c>default</c> standing for none: no Kubernetes timestamp is 0001-01-01.
/// </summary>
internal static class CompactTime
{
    public static DateTime Pack(DateTime? value) => value ?? default;

    public static DateTime? Unpack(DateTime value) => value.Ticks == 0 ? null : value;
}
