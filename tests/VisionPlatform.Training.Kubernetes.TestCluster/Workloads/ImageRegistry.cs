using System.Collections.Concurrent;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

/// <summary>
/// The images the simulated nodes can "pull": a table of image → <see cref="ImageMapping"/> from the options, an optional
/// resolver function for anything else, and the images a test made unpullable at run time.
/// </summary>
public sealed class ImageRegistry
{
    private readonly ConcurrentDictionary<string, ImageMapping> _images;
    private readonly Func<string, ImageMapping?>? _resolver;
    private readonly ConcurrentDictionary<string, bool> _unpullable = new(StringComparer.Ordinal);

    /// <summary>Creates the registry from the configured table and resolver.</summary>
    public ImageRegistry(IReadOnlyDictionary<string, ImageMapping> images, Func<string, ImageMapping?>? resolver)
    {
        ArgumentNullException.ThrowIfNull(images);
        _images = new ConcurrentDictionary<string, ImageMapping>(images, StringComparer.Ordinal);
        _resolver = resolver;
    }

    /// <summary>Maps (or re-maps) an image at run time.</summary>
    public void Map(string image, ImageMapping mapping) => _images[image] = mapping;

    /// <summary>Makes an image fail to pull (ErrImagePull, then ImagePullBackOff) until <see cref="MakePullable"/>.</summary>
    public void MakeUnpullable(string image) => _unpullable[image] = true;

    /// <summary>Undoes <see cref="MakeUnpullable"/>.</summary>
    public void MakePullable(string image) => _unpullable.TryRemove(image, out _);

    /// <summary>The mapping for an image, or null when the image "does not exist" in any registry.</summary>
    public ImageMapping? Resolve(string image)
    {
        if (_unpullable.ContainsKey(image))
        {
            return null;
        }

        if (_images.TryGetValue(image, out var mapping))
        {
            return mapping;
        }

        // "registry.example/trainer:1.0" and "trainer:1.0" name the same image for test purposes
        var withoutRegistry = StripRegistry(image);
        if (withoutRegistry != image && _images.TryGetValue(withoutRegistry, out mapping))
        {
            return mapping;
        }

        return _resolver?.Invoke(image);
    }

    private static string StripRegistry(string image)
    {
        var slash = image.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return image;
        }

        var first = image[..slash];
        return first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost"
            ? image[(slash + 1)..]
            : image;
    }
}
