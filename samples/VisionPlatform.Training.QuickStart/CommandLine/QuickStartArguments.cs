using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using VisionPlatform.Training.Kubernetes;

namespace VisionPlatform.Training.QuickStart.CommandLine;

/// <summary>
/// The QuickStart's flags, parsed by System.CommandLine (<c>--flag value</c> or <c>--flag=value</c>; <c>--help</c> is
/// its generated help). Problems come back as one line naming the flag (exit code 2).
/// </summary>
internal sealed class QuickStartArguments
{
    private readonly Option<string> _executor = new Option<string>("--executor")
    {
        Description = "Where the job runs: subprocess (this machine) or kubernetes (the cluster under Training:Kubernetes)",
        DefaultValueFactory = _ => TrainingExecutorNames.Subprocess,
    }.AcceptOnlyFromAmong(TrainingExecutorNames.Subprocess, KubernetesExecutorInfo.ExecutorName);

    private readonly Option<bool> _noFallback = new("--no-fallback") { Description = "Never run the job on another executor when the chosen one is unavailable (exit code 3)" };
    private readonly Option<bool> _dryRun = new("--dry-run") { Description = "Print what would run (arguments, environment variable names; the Job YAML for kubernetes); start nothing" };
    private readonly Option<bool> _verbose = new("--verbose") { Description = "Show the SDK's own log (retries, availability probes, monitors) on stderr" };
    private readonly Option<bool> _printClusterSetup = new("--print-cluster-setup") { Description = "Print the cluster set-up (namespace, RBAC, ConfigMap, ...) as YAML for kubectl apply; needs no cluster" };
    private readonly Option<string?> _jobId = new("--job-id") { Description = "Job id [default: quickstart-<UTC timestamp>-<pid>]" };
    private readonly Option<string> _framework = new("--framework")
    {
        Description = "ultralytics, timm, huggingface, ...; pytorch runs the real PyTorch trainer samples/trainer/train_torch.py (needs torch)",
        DefaultValueFactory = _ => "ultralytics",
    };

    private readonly Option<string?> _modelName = new("--model-name") { Description = "Model [default: yolo11n; tiny_cnn with --framework pytorch]" };
    private readonly Option<string?> _taskType = new("--task-type") { Description = "Task [default: object_detection; classification with --framework pytorch]" };
    private readonly Option<string?> _datasetPath = new("--dataset-path") { Description = "Dataset path, key or id [default: coco8; synthetic with --framework pytorch]" };
    private readonly Option<string?> _datasetFormat = new("--dataset-format") { Description = "Dataset format [default: yolo; generated with --framework pytorch]" };
    private readonly Option<int?> _nodes = new("--nodes") { Description = "Machines the job spans [default: 1]; more than 1 needs --executor kubernetes" };
    private readonly Option<int?> _procsPerNode = new("--procs-per-node") { Description = "Training processes per machine, one distributed group under torchrun [default: the GPUs, or 1]" };
    private readonly Option<int> _epochs = new("--epochs") { Description = "Epochs", DefaultValueFactory = _ => 5 };
    private readonly Option<int> _batchSize = new("--batch-size") { Description = "Batch size", DefaultValueFactory = _ => 16 };
    private readonly Option<double> _learningRate = new("--learning-rate") { Description = "Learning rate", DefaultValueFactory = _ => 0.01 };
    private readonly Option<string?> _optimizer = new("--optimizer") { Description = "Optimizer [default: adam]" };
    private readonly Option<int?> _numClasses = new("--num-classes") { Description = "Number of classes" };
    private readonly Option<int?> _imageSize = new("--image-size") { Description = "Image size in pixels" };
    private readonly Option<int?> _gpus = new("--gpus") { Description = "GPUs for the job [default: 0 (CPU)]" };
    private readonly Option<string?> _outputDir = new("--output-dir") { Description = "Runs directory [default: <temp>/visionplatform-quickstart/runs]" };
    private readonly Option<string?> _advancedConfig = new("--advanced-config") { Description = "Trainer-specific settings as one JSON object, or @FILE to read it from a file" };
    private readonly Option<string[]> _env = new("--env")
    {
        Description = "NAME=VALUE for the job's environment (repeatable); the SDK's environment policy refuses loader, interpreter, proxy, credential, endpoint and device-visibility variables",
        AllowMultipleArgumentsPerToken = false,
        HelpName = "NAME=VALUE",
    };
    private readonly Option<string?> _projectId = new("--project-id") { Description = "The platform's project id" };
    private readonly Option<string?> _queue = new("--queue") { Description = "Kueue LocalQueue for the job (--executor kubernetes): the Job is created suspended and waits for Kueue's admission" };
    private readonly Option<string?> _priorityClass = new("--priority-class") { Description = "Kueue WorkloadPriorityClass of the queued job (needs --queue, or Training:Kubernetes:Kueue:QueueName)" };
    private readonly Option<string?> _podPriorityClass = new("--pod-priority-class") { Description = "The pods' PriorityClass (priorityClassName; --executor kubernetes)" };

    private readonly Dictionary<string, Option> _flagsByField;

    public QuickStartArguments()
    {
        _outputDir.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && string.IsNullOrWhiteSpace(r.Tokens[0].Value))
            {
                r.AddError("must not be empty");
            }
        });

        _env.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
            {
                if (token.Value.IndexOf('=', StringComparison.Ordinal) <= 0)
                {
                    r.AddError($"'{token.Value}' must be NAME=VALUE");
                    return;
                }
            }
        });
        _advancedConfig.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && r.Tokens[0].Value is ['@', ..] file && file.Length == 1)
            {
                r.AddError("@ must be followed by a file path");
            }
        });

        // Queue and WorkloadPriorityClass names are Kueue object names and label values.
        foreach (var option in new[] { _queue, _priorityClass })
        {
            option.Validators.Add(r =>
            {
                if (r.Tokens.Count > 0 && r.Tokens[0].Value is var name && !(NameSyntax.IsDnsSubdomain(name) && name.Length <= 63))
                {
                    r.AddError($"'{name}' must be a lowercase RFC 1123 subdomain of at most 63 characters (a Kueue object name and label value), for example 'team-a'");
                }
            });
        }

        _podPriorityClass.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && r.Tokens[0].Value is var name && !NameSyntax.IsDnsSubdomain(name))
            {
                r.AddError($"'{name}' {NameSyntax.DnsSubdomainRule}");
            }
        });

        Root = new RootCommand("Runs one training job end to end through VisionPlatform.Training and shows its phases and progress. " +
            "Exit codes: 0 the job succeeded, 1 it failed, 2 bad input, 3 the executor is unavailable and --no-fallback was given.")
        {
            _executor, _noFallback, _dryRun, _verbose, _jobId, _framework, _modelName, _taskType, _datasetPath, _datasetFormat,
            _epochs, _batchSize, _learningRate, _optimizer, _numClasses, _imageSize, _gpus, _nodes, _procsPerNode, _outputDir, _advancedConfig,
            _projectId, _env, _printClusterSetup, _queue, _priorityClass, _podPriorityClass,
        };

        // Builder fields named by TrainingValidationException, so Build() errors speak the user's language.
        _flagsByField = new(StringComparer.Ordinal)
        {
            [nameof(TrainingJobConfigBuilder.JobId)] = _jobId,
            [nameof(TrainingJobConfigBuilder.Framework)] = _framework,
            [nameof(TrainingJobConfigBuilder.ModelName)] = _modelName,
            [nameof(TrainingJobConfigBuilder.TaskType)] = _taskType,
            [nameof(TrainingJobConfigBuilder.DatasetPath)] = _datasetPath,
            [nameof(TrainingJobConfigBuilder.DatasetFormat)] = _datasetFormat,
            [nameof(TrainingJobConfigBuilder.Epochs)] = _epochs,
            [nameof(TrainingJobConfigBuilder.BatchSize)] = _batchSize,
            [nameof(TrainingJobConfigBuilder.LearningRate)] = _learningRate,
            [nameof(TrainingJobConfigBuilder.Optimizer)] = _optimizer,
            [nameof(TrainingJobConfigBuilder.NumClasses)] = _numClasses,
            [nameof(TrainingJobConfigBuilder.ImageSize)] = _imageSize,
            ["Resources.Gpus"] = _gpus,
            ["Distribution.Nodes"] = _nodes,
            ["Distribution.ProcessesPerNode"] = _procsPerNode,
            [nameof(TrainingJobConfigBuilder.AdvancedConfig)] = _advancedConfig,
            [nameof(TrainingJobConfigBuilder.ProjectId)] = _projectId,
        };
    }

    /// <summary>The command, with System.CommandLine's <c>--help</c> (<c>-h</c>, <c>-?</c>).</summary>
    public RootCommand Root { get; }

    /// <summary>Parses the arguments; <see cref="ParseResult.Errors"/> tells whether they were valid.</summary>
    /// <remarks>Response files (<c>@file</c> expanded into arguments) are off: <c>--advanced-config @file</c> reads the file itself.</remarks>
    public ParseResult Parse(IReadOnlyList<string> args) => Root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });

    /// <summary>The command of a parse without errors.</summary>
    public QuickStartCommand ToCommand(ParseResult result, TimeProvider time)
    {
        var framework = result.GetValue(_framework)!;
        var defaults = JobDefaults.For(framework);
        var job = new TrainingJobConfigBuilder
        {
            // Unique per invocation, so repeated runs never meet the executor's "same job id" rule.
            JobId = result.GetValue(_jobId)
                ?? string.Create(CultureInfo.InvariantCulture, $"quickstart-{time.GetUtcNow():yyyyMMdd-HHmmss-fff}-{Environment.ProcessId}"),
            Framework = framework,
            ModelName = result.GetValue(_modelName) ?? defaults.ModelName,
            TaskType = result.GetValue(_taskType) ?? defaults.TaskType,
            DatasetPath = result.GetValue(_datasetPath) ?? defaults.DatasetPath,
            DatasetFormat = result.GetValue(_datasetFormat) ?? defaults.DatasetFormat,
            Epochs = result.GetValue(_epochs),
            BatchSize = result.GetValue(_batchSize),
            LearningRate = result.GetValue(_learningRate),
            NumClasses = result.GetValue(_numClasses),
            ImageSize = result.GetValue(_imageSize),
            AdvancedConfig = ReadAdvancedConfig(result.GetValue(_advancedConfig)),
            ProjectId = result.GetValue(_projectId),
        };
        foreach (var variable in result.GetValue(_env) ?? [])
        {
            // Validated as NAME=VALUE; the name and the policy are checked by Build() (its error names --env[NAME]).
            var equals = variable.IndexOf('=', StringComparison.Ordinal);
            job.Environment[variable[..equals]] = variable[(equals + 1)..];
        }

        if (result.GetValue(_optimizer) is { } optimizer)
        {
            job.Optimizer = optimizer;
        }

        if (result.GetValue(_gpus) is { } gpus)
        {
            job.Resources = (job.Resources ?? TrainingResources.None) with { Gpus = gpus };
        }

        // Either flag makes the job a distribution (the SDK validates both); without them it is one process, as before.
        var nodes = result.GetValue(_nodes);
        var processes = result.GetValue(_procsPerNode);
        if (nodes is not null || processes is not null)
        {
            job.Distribution = new TrainingDistribution { Nodes = nodes ?? 1, ProcessesPerNode = processes };
        }

        return new QuickStartCommand
        {
            Executor = result.GetValue(_executor)!,
            NoFallback = result.GetValue(_noFallback),
            DryRun = result.GetValue(_dryRun),
            Verbose = result.GetValue(_verbose),
            PrintClusterSetup = result.GetValue(_printClusterSetup),
            OutputDirectory = result.GetValue(_outputDir),
            Queue = result.GetValue(_queue),
            PriorityClass = result.GetValue(_priorityClass),
            PodPriorityClass = result.GetValue(_podPriorityClass),
            Job = job,
        };
    }

    // "@path" reads the file (as curl does); anything else is the JSON itself. The SDK validates either.
    private static string? ReadAdvancedConfig(string? value)
    {
        if (value is not ['@', .. var path])
        {
            return value;
        }

        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new UsageException($"--advanced-config: cannot read '{path}': {e.Message}");
        }
    }

    /// <summary>The parse errors as one line, each naming its flag.</summary>
    public static string Describe(IEnumerable<ParseError> errors) =>
        string.Join("; ", errors.Select(e => e.SymbolResult switch
        {
            OptionResult option => $"{option.Option.Name}: {OneLine(e.Message)}",
            ArgumentResult { Parent: OptionResult option } => $"{option.Option.Name}: {OneLine(e.Message)}",
            _ => OneLine(e.Message) + " (see --help)",
        }));

    // System.CommandLine lists allowed values on lines of their own: "Must be one of:\n\t'subprocess'\n\t'kubernetes'".
    private static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>The flag that sets a builder field (or the field itself when no flag does).</summary>
    public string FlagFor(string field) =>
        _flagsByField.TryGetValue(field, out var option) ? option.Name
        : field.StartsWith("Environment[", StringComparison.Ordinal) ? _env.Name + field["Environment".Length..]
        : field;

    /// <summary>Turns <see cref="TrainingValidationException"/> errors (builder field names) into one flag-named line.</summary>
    public string Describe(TrainingValidationException exception) =>
        string.Join("; ", exception.Errors.Select(e => new TrainingValidationError(FlagFor(e.Field), e.Value, e.Rule).ToString()));
}
