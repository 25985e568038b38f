namespace VisionPlatform.Training;

/// <summary>
/// Which environment variables a job may set (<see cref="TrainingJobConfigBuilder.Environment"/>), on every executor.
/// A job's variables reach a trainer that runs with the operator's interpreter, credentials, network and GPUs, so the
/// variables that change how the trainer is loaded or interpreted, where it connects, with which credentials or which
/// devices it sees are refused, each with the rule it breaks:
/// <list type="bullet">
/// <item><description><b>reserved</b>: names the platform sets (<see cref="TrainingJobConfigBuilder.ReservedEnvironmentNames"/>); never allowed.</description></item>
/// <item><description><b>loader</b>: <c>LD_*</c>, <c>GCONV_PATH</c>, <c>GLIBC_TUNABLES</c>, <c>LOCPATH</c>, <c>NLSPATH</c>, <c>HOSTALIASES</c>.</description></item>
/// <item><description><b>interpreter</b>: <c>PYTHON*</c>, <c>PERL5*</c>, <c>PERLLIB</c>, <c>RUBY*</c>, <c>NODE_OPTIONS</c>, <c>NODE_PATH</c>, <c>JAVA_TOOL_OPTIONS</c>, <c>_JAVA_OPTIONS</c>, <c>BASH_ENV</c>, <c>ENV</c>, <c>SHELLOPTS</c>, <c>IFS</c>, <c>PATH</c>, <c>HOME</c>, <c>SHELL</c>, <c>BROWSER</c>.</description></item>
/// <item><description><b>proxy</b>: <c>*_PROXY</c> and <c>*_proxy</c> (<c>HTTP_PROXY</c>, <c>https_proxy</c>, <c>NO_PROXY</c>, ...).</description></item>
/// <item><description><b>credential or endpoint</b>: <c>AWS_*</c>, <c>AZURE_*</c>, <c>MLFLOW_*</c>, <c>GOOGLE_APPLICATION_CREDENTIALS</c>, <c>KUBECONFIG</c>, <c>SSL_CERT_FILE</c>, <c>SSL_CERT_DIR</c>, <c>REQUESTS_CA_BUNDLE</c>, <c>CURL_CA_BUNDLE</c>, <c>HF_ENDPOINT</c>, <c>HF_TOKEN</c>.</description></item>
/// <item><description><b>device visibility</b>: <c>NVIDIA_*</c>, <c>CUDA_VISIBLE_DEVICES</c>, <c>CUDA_DEVICE_ORDER</c>, <c>ROCR_VISIBLE_DEVICES</c>, <c>HIP_VISIBLE_DEVICES</c>, <c>GPU_DEVICE_ORDINAL</c>, <c>ZE_AFFINITY_MASK</c>.</description></item>
/// </list>
/// Names are compared exactly (environment names are case-sensitive), families by prefix; <c>*_PROXY</c> ignores case.
/// An operator may allow more names (any but reserved ones) with <c>Training:Environment:AllowedJobVariables</c>
/// (<see cref="TrainingEnvironmentOptions.AllowedJobVariables"/>), passed to a builder as <see cref="TrainingJobConfigBuilder.EnvironmentPolicy"/>.
/// </summary>
public sealed class TrainingEnvironmentPolicy
{
    private static readonly (string Rule, string[] Exact, string[] Prefixes)[] Families =
    [
        ("a loader variable", ["GCONV_PATH", "GLIBC_TUNABLES", "LOCPATH", "NLSPATH", "HOSTALIASES"], ["LD_"]),
        ("an interpreter or program-lookup variable", ["PERLLIB", "NODE_OPTIONS", "NODE_PATH", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "BASH_ENV", "ENV", "SHELLOPTS", "IFS", "PATH", "HOME", "SHELL", "BROWSER"], ["PYTHON", "PERL5", "RUBY"]),
        ("a credential or endpoint variable", ["GOOGLE_APPLICATION_CREDENTIALS", "KUBECONFIG", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HF_ENDPOINT", "HF_TOKEN"], ["AWS_", "AZURE_", "MLFLOW_"]),
        ("a device-visibility variable", ["CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL", "ZE_AFFINITY_MASK"], ["NVIDIA_"]),
    ];

    private readonly HashSet<string> _allowed;

    /// <summary>Creates a policy that also allows <paramref name="allowedNames"/> (reserved names stay refused).</summary>
    /// <param name="allowedNames">Names the operator allows jobs to set although a rule refuses them.</param>
    public TrainingEnvironmentPolicy(IEnumerable<string> allowedNames)
    {
        ArgumentNullException.ThrowIfNull(allowedNames);
        _allowed = new HashSet<string>(allowedNames, StringComparer.Ordinal);
    }

    /// <summary>The policy without operator exceptions.</summary>
    public static TrainingEnvironmentPolicy Default { get; } = new([]);

    /// <summary>The names the operator allows in addition.</summary>
    public IReadOnlyCollection<string> AllowedNames => _allowed;

    /// <summary>The policy an operator configured (<c>Training:Environment:AllowedJobVariables</c>).</summary>
    /// <param name="options">The root options.</param>
    /// <returns>The policy.</returns>
    public static TrainingEnvironmentPolicy FromOptions(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Environment.AllowedJobVariables.Count == 0 ? Default : new(options.Environment.AllowedJobVariables);
    }

    /// <summary>Why a job may not set a variable, or <see langword="null"/> when it may.</summary>
    /// <param name="name">The variable's name.</param>
    /// <returns>The rule it breaks, naming the family and how to allow it.</returns>
    public string? Check(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (TrainingJobConfigBuilder.ReservedEnvironmentNames.Contains(name))
        {
            return "is reserved: the platform sets it (from the trainer contract, the executor's options and the run); a job may not set it";
        }

        if (_allowed.Contains(name))
        {
            return null;
        }

        if (name.EndsWith("_PROXY", StringComparison.OrdinalIgnoreCase))
        {
            return Refused(name, "a proxy variable", "*_PROXY");
        }

        foreach (var (rule, exact, prefixes) in Families)
        {
            if (exact.Contains(name, StringComparer.Ordinal))
            {
                return Refused(name, rule, name);
            }

            if (prefixes.FirstOrDefault(p => name.StartsWith(p, StringComparison.Ordinal)) is { } prefix)
            {
                return Refused(name, rule, prefix + "*");
            }
        }

        return null;
    }

    private static string Refused(string name, string rule, string family) =>
        $"is {rule} ({family}), which a job may not set: the operator's environment decides it; an operator can allow it in Training:Environment:AllowedJobVariables (add '{name}')";
}

/// <summary>Options of the job environment policy (<c>Training:Environment</c>).</summary>
public sealed class TrainingEnvironmentOptions
{
    /// <summary>
    /// Variable names jobs may set although <see cref="TrainingEnvironmentPolicy"/> refuses them (for example
    /// <c>HF_TOKEN</c> when jobs bring their own Hugging Face token). Reserved names cannot be allowed.
    /// </summary>
    public IList<string> AllowedJobVariables { get; } = [];
}
