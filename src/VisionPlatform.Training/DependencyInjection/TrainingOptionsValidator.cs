using Microsoft.Extensions.Options;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training;

/// <summary>Validates <see cref="TrainingOptions"/> at start-up; every message names the configuration key and the rule.</summary>
/// <param name="sectionPath">The section the options are bound from, for the keys in messages.</param>
/// <param name="registeredExecutors">The registered executor names.</param>
/// <param name="subprocessRegistered">
/// Whether the built-in subprocess executor is registered (and not replaced by a stand-in): then its interpreters and
/// scripts must exist unless <c>Subprocess:ValidateTrainerOnStart</c> is false.
/// </param>
internal sealed class TrainingOptionsValidator(string sectionPath, IReadOnlyList<string> registeredExecutors, bool subprocessRegistered = false) : IValidateOptions<TrainingOptions>
{
    public ValidateOptionsResult Validate(string? name, TrainingOptions options)
    {
        var p = sectionPath;
        var errors = new List<string>();
        ExecutorRoutingOptionsValidation.ValidateNames(errors, p, options, registeredExecutors);

        var contract = options.Trainer.Contract;
        if (contract is not (FlagTrainerContract.ContractName or JsonConfigTrainerContract.ContractName))
        {
            errors.Add($"{p}:Trainer:Contract is '{contract}': it must be '{FlagTrainerContract.ContractName}' or '{JsonConfigTrainerContract.ContractName}'.");
        }

        CheckUrl(errors, $"{p}:Trainer:BackendApiUrl", options.Trainer.BackendApiUrl);
        CheckUrl(errors, $"{p}:Trainer:MlflowTrackingUri", options.Trainer.MlflowTrackingUri);
        CheckUrl(errors, $"{p}:Trainer:StorageEndpointUrl", options.Trainer.StorageEndpointUrl);

        CheckCost(errors, $"{p}:Cost", options.Cost);
        CheckEvents(errors, $"{p}:Events", options.Events);

        var s = options.Subprocess;
        var sp = $"{p}:Subprocess";
        if (s.MaxConcurrentRuns is < 1 or > 1024)
        {
            errors.Add($"{sp}:MaxConcurrentRuns is {s.MaxConcurrentRuns}: it must be between 1 and 1024.");
        }

        if (s.MaxQueuedRuns is < 1 or > 100_000)
        {
            errors.Add($"{sp}:MaxQueuedRuns is {s.MaxQueuedRuns}: it must be between 1 and 100000.");
        }

        if (s.StopGracePeriod < TimeSpan.Zero || s.StopGracePeriod > TimeSpan.FromHours(1))
        {
            errors.Add($"{sp}:StopGracePeriod is {s.StopGracePeriod}: it must be between 00:00:00 and 01:00:00.");
        }

        if (string.IsNullOrWhiteSpace(s.Interpreter))
        {
            errors.Add($"{sp}:Interpreter is required (for example 'python3' or a virtual environment's bin/python).");
        }

        if (string.IsNullOrWhiteSpace(s.Script))
        {
            errors.Add($"{sp}:Script is required (the path of train.py).");
        }

        for (var i = 0; i < s.Gpus.Count; i++)
        {
            if (s.Gpus[i] < 0)
            {
                errors.Add($"{sp}:Gpus:{i} is {s.Gpus[i]}: GPU indices must be 0 or greater.");
            }
        }

        if (s.Gpus.Distinct().Count() != s.Gpus.Count)
        {
            errors.Add($"{sp}:Gpus lists a GPU index twice: each GPU may be handed out only once.");
        }

        CheckEnvironment(errors, $"{sp}:Environment", s.Environment);
        if (s.RunsDirectory is not null && (string.IsNullOrWhiteSpace(s.RunsDirectory) || s.RunsDirectory.IndexOfAny(Path.GetInvalidPathChars()) >= 0))
        {
            errors.Add($"{sp}:RunsDirectory is '{s.RunsDirectory}': it must be a directory path (or unset for the default under the temp directory).");
        }

        if (s.Distributed.MaxRestarts is < 0 or > Subprocess.SubprocessDistributedOptions.MaxAllowedRestarts)
        {
            errors.Add($"{sp}:Distributed:MaxRestarts is {s.Distributed.MaxRestarts}: it must be between 0 and {Subprocess.SubprocessDistributedOptions.MaxAllowedRestarts} (how many times torchrun restarts the whole group of a distributed job).");
        }

        if (s.UploadAttempts is < 1 or > 20)
        {
            errors.Add($"{sp}:UploadAttempts is {s.UploadAttempts}: it must be between 1 and 20.");
        }

        if (s.UploadRetryDelay < TimeSpan.Zero || s.UploadRetryDelay > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{sp}:UploadRetryDelay is {s.UploadRetryDelay}: it must be between 00:00:00 and 00:10:00.");
        }

        if (s.RunRetention <= TimeSpan.Zero)
        {
            errors.Add($"{sp}:RunRetention is {s.RunRetention}: it must be greater than 00:00:00 (how long a finished run's directory is kept; default 7.00:00:00).");
        }

        if (s.PollInterval < TimeSpan.FromMilliseconds(10) || s.PollInterval > TimeSpan.FromSeconds(10))
        {
            errors.Add($"{sp}:PollInterval is {s.PollInterval}: it must be between 00:00:00.010 and 00:00:10.");
        }

        for (var i = 0; i < s.EnvironmentAllowList.Count; i++)
        {
            if (!NameSyntax.IsEnvironmentVariableName(s.EnvironmentAllowList[i] ?? ""))
            {
                errors.Add($"{sp}:EnvironmentAllowList:{i} is '{s.EnvironmentAllowList[i]}': it is not a valid environment variable name: it {NameSyntax.EnvironmentVariableNameRule}.");
            }
        }

        foreach (var (framework, f) in s.Frameworks)
        {
            var fp = $"{sp}:Frameworks:{framework}";
            if (!new TrainingFramework(framework).IsValid)
            {
                errors.Add($"{fp} names the framework '{framework}': framework names are lower-case identifiers ([a-z0-9][a-z0-9_-]*).");
            }

            if (f.Interpreter is not null && string.IsNullOrWhiteSpace(f.Interpreter))
            {
                errors.Add($"{fp}:Interpreter is blank: set a path or a program name, or remove it to use {sp}:Interpreter.");
            }

            if (f.Script is not null && string.IsNullOrWhiteSpace(f.Script))
            {
                errors.Add($"{fp}:Script is blank: set the path of the framework's train.py, or remove it to use {sp}:Script.");
            }

            CheckEnvironment(errors, $"{fp}:Environment", f.Environment);
        }

        if (subprocessRegistered && s.ValidateTrainerOnStart)
        {
            var trainer = Subprocess.Launch.TrainerFiles.Problems(options, sp);
            if (trainer.Count > 0)
            {
                trainer[^1] += $" (To start anyway and have the health check report these, set {sp}:ValidateTrainerOnStart to false.)";
                errors.AddRange(trainer);
            }
        }

        ExecutorRoutingOptionsValidation.Validate(errors, p, options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckEnvironment(List<string> errors, string key, IDictionary<string, string> environment)
    {
        foreach (var name in environment.Keys)
        {
            if (!NameSyntax.IsEnvironmentVariableName(name))
            {
                errors.Add($"{key}:{name} is not a valid environment variable name: it {NameSyntax.EnvironmentVariableNameRule}.");
            }
            else if (Storage.ArtifactEnvironment.Names.Contains(name))
            {
                errors.Add($"{key}:{name} is reserved: the executor sets it from the artifact store (AddArtifactStorage: the bucket, the run's prefix and, on Kubernetes, its checkpoint location) for every run; it cannot be configured here.");
            }
            else if (TrainingJobConfigBuilder.ReservedEnvironmentNames.Contains(name))
            {
                errors.Add($"{key}:{name} is set by the executor (from Training:Trainer and the run's GPUs); it cannot be configured here.");
            }
        }
    }

    private static void CheckEvents(List<string> errors, string key, TrainingEventOptions events)
    {
        if (events.MaxSubscribers is < 1 or > 100_000)
        {
            errors.Add(FormattableString.Invariant($"{key}:MaxSubscribers is {events.MaxSubscribers}: it must be between 1 and 100000 (open event subscriptions at once)."));
        }

        if (events.MaxBufferedBytesPerSubscriber is < TrainingEventOptions.MinBufferedBytesPerSubscriber or > 1L << 30)
        {
            errors.Add(FormattableString.Invariant($"{key}:MaxBufferedBytesPerSubscriber is {events.MaxBufferedBytesPerSubscriber}: it must be between {TrainingEventOptions.MinBufferedBytesPerSubscriber} (4 MiB) and {1L << 30} (1 GiB) bytes."));
        }
    }

    private static void CheckUrl(List<string> errors, string key, string? value)
    {
        if (value is not null && !Uri.TryCreate(value, UriKind.Absolute, out _))
        {
            errors.Add($"{key} is not an absolute URL.");
        }
    }

    private static void CheckCost(List<string> errors, string key, TrainingCostOptions cost)
    {
        if (!(cost.DefaultCpuCores > 0 && cost.DefaultCpuCores <= 1024))
        {
            errors.Add(FormattableString.Invariant($"{key}:DefaultCpuCores is {cost.DefaultCpuCores}: it must be more than 0 and at most 1024."));
        }

        var priced = false;
        foreach (var (rateKey, rates) in cost.Executors.Select(e => ($"{key}:Executors:{e.Key}", e.Value)).Prepend(($"{key}:Default", cost.Default)))
        {
            if (rates is null)
            {
                continue;
            }

            priced |= rates.GpuHour is not null || rates.CpuHour is not null;
            if (rates.GpuHour < 0)
            {
                errors.Add(FormattableString.Invariant($"{rateKey}:GpuHour is {rates.GpuHour}: a price must be 0 or more."));
            }

            if (rates.CpuHour < 0)
            {
                errors.Add(FormattableString.Invariant($"{rateKey}:CpuHour is {rates.CpuHour}: a price must be 0 or more."));
            }
        }

        if (priced && string.IsNullOrWhiteSpace(cost.Currency))
        {
            errors.Add($"{key}:Currency is required when a price is set (for example 'USD'), so amounts are never shown without their currency.");
        }
    }
}
