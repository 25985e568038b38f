using System.Globalization;
using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;
using VisionPlatform.Training.Kubernetes.TestCluster.Validation;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Standalone;

/// <summary>
/// The standalone server's workload flags: which local program runs an image (<c>--image</c>, <c>--image-arg</c>),
/// running every container's own command (<c>--passthrough</c>) and GPU nodes (<c>--gpu-node</c>). A bad value is one
/// line naming the flag and the rule it breaks.
/// </summary>
internal sealed class StandaloneFlags(KubernetesTestClusterOptions options)
{
    /// <summary>The flags' part of <c>--help</c>.</summary>
    public const string Help = """
          --image IMAGE=PROGRAM   run containers of IMAGE as PROGRAM (an absolute path or a name on PATH) followed by
                                  the container's command and args; split at the first '=' (image references have none),
                                  e.g. --image python:3.12=/usr/bin/python3. Repeatable, once per image.
          --image-arg ARG         add ARG before the container's command for the --image just given (repeatable),
                                  e.g. --image trainer:1=python3 --image-arg -u
          --passthrough           run any other image's container as its own command + args on this machine
                                  (e.g. busybox with command /bin/sh -c "echo hi" runs the local /bin/sh)
          --gpu-node NAME[=COUNT] add a node NAME with COUNT nvidia.com/gpu (default 1), labelled accelerator=nvidia-gpu
                                  and tainted nvidia.com/gpu:NoSchedule (repeatable; node-1 stays)
        """;

    /// <summary>The largest GPU count a simulated node may have.</summary>
    public const int MaxGpus = 128;

    private string? _lastImage;

    /// <summary>Whether <paramref name="flag"/> is one of these flags.</summary>
    public static bool Handles(string flag) => flag is "--image" or "--image-arg" or "--passthrough" or "--gpu-node";

    /// <summary>Applies <c>args[i]</c> (and its value, moving <paramref name="i"/> past it); returns the error line or null.</summary>
    public string? Apply(IReadOnlyList<string> args, ref int i)
    {
        ArgumentNullException.ThrowIfNull(args);
        var flag = args[i];
        if (flag == "--passthrough")
        {
            options.Workloads.ImageResolver = _ => ImageMapping.Passthrough;
            return null;
        }

        if (i + 1 >= args.Count)
        {
            return flag switch
            {
                "--image" => "--image needs a value: IMAGE=PROGRAM (e.g. --image python:3.12=/usr/bin/python3)",
                "--image-arg" => "--image-arg needs a value: the argument to put before the container's command",
                _ => "--gpu-node needs a value: NAME[=COUNT] (e.g. --gpu-node gpu-1=2)",
            };
        }

        var value = args[++i];
        return flag switch
        {
            "--image" => Image(value),
            "--image-arg" => ImageArgument(value),
            _ => GpuNode(value),
        };
    }

    private string? Image(string value)
    {
        var equals = value.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0 || equals == value.Length - 1)
        {
            return $"--image {value}: expected IMAGE=PROGRAM with both parts non-empty (e.g. python:3.12=/usr/bin/python3)";
        }

        var image = value[..equals];
        var program = value[(equals + 1)..];
        if (options.Workloads.Images.ContainsKey(image))
        {
            return $"--image {value}: {image} is mapped twice; give each image once";
        }

        if (!ProgramExists(program))
        {
            return $"--image {value}: PROGRAM must be an existing absolute path or a name found on PATH";
        }

        options.Workloads.Images[image] = ImageMapping.Command(program);
        _lastImage = image;
        return null;
    }

    private string? ImageArgument(string value)
    {
        if (_lastImage is null)
        {
            return $"--image-arg {value}: must follow an --image IMAGE=PROGRAM (it adds an argument to that program)";
        }

        var mapping = options.Workloads.Images[_lastImage];
        options.Workloads.Images[_lastImage] = mapping with { PrefixArguments = [.. mapping.PrefixArguments, value] };
        return null;
    }

    private string? GpuNode(string value)
    {
        var equals = value.IndexOf('=', StringComparison.Ordinal);
        var name = equals < 0 ? value : value[..equals];
        var gpus = 1;
        if (NameRules.Dns1123Subdomain(name) is { Count: > 0 } problems)
        {
            return $"--gpu-node {value}: NAME: {problems[0]}";
        }

        if (equals >= 0 && (!int.TryParse(value[(equals + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out gpus) || gpus is < 1 or > MaxGpus))
        {
            return $"--gpu-node {value}: COUNT must be a whole number from 1 to {MaxGpus}";
        }

        if (options.Workloads.Nodes.Any(n => n.Name == name))
        {
            return $"--gpu-node {value}: a node named {name} already exists; give each node once";
        }

        options.Workloads.Nodes.Add(SimulatedNode.Gpu(name, gpus));
        return null;
    }

    private static bool ProgramExists(string program)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            return Path.IsPathRooted(program) && File.Exists(program);
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Any(directory => File.Exists(Path.Combine(directory, program)));
    }
}
