using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Samples.RemoteExecutor;

/// <summary>Checks <see cref="RemoteExecutorOptions"/> at start-up and lists every problem with its configuration key.</summary>
/// <param name="executorName">The name the options belong to (named options).</param>
/// <param name="sectionPath">The configuration section the options come from, for the keys in the messages.</param>
internal sealed class RemoteExecutorOptionsValidator(string executorName, string sectionPath) : IValidateOptions<RemoteExecutorOptions>
{
    public ValidateOptionsResult Validate(string? name, RemoteExecutorOptions options)
    {
        if (!string.Equals(name, executorName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        var problems = new List<string>();
        if (options.ServiceUrl is null)
        {
            problems.Add($"{sectionPath}:ServiceUrl is required: the training service's base URL, for example http://trainer.internal:8080/.");
        }
        else if (!options.ServiceUrl.IsAbsoluteUri || (options.ServiceUrl.Scheme != Uri.UriSchemeHttp && options.ServiceUrl.Scheme != Uri.UriSchemeHttps))
        {
            problems.Add($"{sectionPath}:ServiceUrl '{options.ServiceUrl}' must be an absolute http or https URL.");
        }

        Positive(problems, options.RequestTimeout, "RequestTimeout");
        Positive(problems, options.AvailabilityTimeout, "AvailabilityTimeout");
        Positive(problems, options.PollInterval, "PollInterval");
        Positive(problems, options.StopGracePeriod, "StopGracePeriod");
        if (options.MaxReadRetries is < 0 or > 10)
        {
            problems.Add($"{sectionPath}:MaxReadRetries must be between 0 and 10 (was {options.MaxReadRetries}).");
        }

        if (options.MaxGpusPerJob < 0)
        {
            problems.Add($"{sectionPath}:MaxGpusPerJob must be 0 or more (was {options.MaxGpusPerJob}).");
        }

        return problems.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"The remote training executor '{executorName}' is misconfigured: " + string.Join(" ", problems));

        void Positive(List<string> list, TimeSpan value, string key)
        {
            if (value <= TimeSpan.Zero)
            {
                list.Add($"{sectionPath}:{key} must be greater than zero (was {value}).");
            }
        }
    }
}
