using Microsoft.Extensions.Options;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training;

/// <summary>Validates <see cref="TrainingOptions"/> at start-up; every message names the configuration key and the rule.</summary>
internal sealed class TrainingOptionsValidator(string sectionPath) : IValidateOptions<TrainingOptions>
{
    public ValidateOptionsResult Validate(string? name, TrainingOptions options)
    {
        var p = sectionPath;
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DefaultExecutor))
        {
            errors.Add($"{p}:DefaultExecutor is required (for example 'subprocess' or 'kubernetes').");
        }

        var contract = options.Trainer.Contract;
        if (contract is not (FlagTrainerContract.ContractName or JsonConfigTrainerContract.ContractName))
        {
            errors.Add($"{p}:Trainer:Contract is '{contract}': it must be '{FlagTrainerContract.ContractName}' or '{JsonConfigTrainerContract.ContractName}'.");
        }

        CheckUrl(errors, $"{p}:Trainer:BackendApiUrl", options.Trainer.BackendApiUrl);
        CheckUrl(errors, $"{p}:Trainer:MlflowTrackingUri", options.Trainer.MlflowTrackingUri);
        CheckUrl(errors, $"{p}:Trainer:StorageEndpointUrl", options.Trainer.StorageEndpointUrl);

        var s = options.Subprocess;
        var sp = $"{p}:Subprocess";
        if (s.MaxConcurrentRuns is < 1 or > 1024)
        {
            errors.Add($"{sp}:MaxConcurrentRuns is {s.MaxConcurrentRuns}: it must be between 1 and 1024.");
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

        foreach (var key in s.Environment.Keys.Where(k => !KubernetesNames.IsValidEnvName(k)))
        {
            errors.Add($"{sp}:Environment:{key} is not a valid environment variable name: it {KubernetesNames.EnvNameRule}.");
        }

        ExecutorRoutingOptionsValidation.Validate(errors, p, options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckUrl(List<string> errors, string key, string? value)
    {
        if (value is not null && !Uri.TryCreate(value, UriKind.Absolute, out _))
        {
            errors.Add($"{key} is not an absolute URL.");
        }
    }
}
