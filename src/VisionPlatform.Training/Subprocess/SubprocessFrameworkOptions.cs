namespace VisionPlatform.Training.Subprocess;

/// <summary>Interpreter, script and environment for one framework (<c>Training:Subprocess:Frameworks:&lt;name&gt;</c>).</summary>
public sealed class SubprocessFrameworkOptions
{
    /// <summary>The interpreter, for example a virtual environment's <c>bin/python</c>.</summary>
    public string? Interpreter { get; set; }

    /// <summary>The trainer script for this framework.</summary>
    public string? Script { get; set; }

    /// <summary>Extra plain environment variables for this framework's runs.</summary>
    public IDictionary<string, string> Environment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}
