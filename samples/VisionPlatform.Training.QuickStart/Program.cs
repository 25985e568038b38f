// QuickStart: run one training job end to end through VisionPlatform.Training.
//   dotnet run --project samples/VisionPlatform.Training.QuickStart -- [--epochs 5] [--dry-run] [--help]
//   dotnet run --project samples/VisionPlatform.Training.QuickStart -- --print-cluster-setup > cluster-setup.yaml
// Exit codes: 0 the job succeeded, 1 it failed, 2 bad input (one line on stderr naming the flag or setting),
//   3 the executor is unavailable and --no-fallback was given (one line on stderr with the reason).
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using VisionPlatform.Training;
using VisionPlatform.Training.QuickStart;
using VisionPlatform.Training.QuickStart.CommandLine;
using VisionPlatform.Training.QuickStart.Display;
using VisionPlatform.Training.QuickStart.Hosting;

QuickStartCommand command;
TrainingJobConfig config;
try
{
    command = QuickStartArguments.Parse(args, TimeProvider.System);
    if (command.Help)
    {
        Console.WriteLine(QuickStartArguments.Usage());
        return ExitCodes.Succeeded;
    }

    config = command.Job.Build();
}
catch (UsageException e)
{
    ErrorLine.Write(Console.Error, e.Message);
    return ExitCodes.BadInput;
}
catch (TrainingValidationException e)
{
    ErrorLine.Write(Console.Error, ValidationMessages.ForFlags(e));
    return ExitCodes.BadInput;
}

// The host's own arguments are not passed on: the flags above are the sample's, not configuration keys.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
try
{
    QuickStartConfiguration.Apply(builder.Configuration, command);
}
catch (UsageException e)
{
    ErrorLine.Write(Console.Error, e.Message);
    return ExitCodes.BadInput;
}

// stdout carries the sample's output (progress, or the YAML of --dry-run and --print-cluster-setup): logs go to stderr.
builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Services.AddTrainingExecutors(builder.Configuration.GetSection("Training"))
    .AddSubprocess()
    .AddKubernetes(builder.Configuration.GetSection("Training:Kubernetes"));
builder.Services.AddSingleton<QuickStartRunner>();

using var host = builder.Build();
if (command.PrintClusterSetup)
{
    return ClusterSetupPrint.Print(host.Services, Console.Out, Console.Error);
}

try
{
    await host.StartAsync().ConfigureAwait(false);
}
catch (OptionsValidationException e)
{
    // Start-up validation names the configuration key; one line, as for flags.
    ErrorLine.Write(Console.Error, string.Join("; ", e.Failures));
    return ExitCodes.BadInput;
}

var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
var exitCode = await host.Services.GetRequiredService<QuickStartRunner>()
    .RunAsync(command, config, lifetime.ApplicationStopping).ConfigureAwait(false);
await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
return exitCode;
