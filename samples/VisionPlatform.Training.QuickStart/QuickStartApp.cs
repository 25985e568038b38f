using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.QuickStart.CommandLine;
using VisionPlatform.Training.QuickStart.Display;
using VisionPlatform.Training.QuickStart.Hosting;

namespace VisionPlatform.Training.QuickStart;

/// <summary>The QuickStart's entry point: parse the flags, build the host, run one job (or print what would run).</summary>
public static class QuickStartApp
{
    /// <summary>The SDK's log categories (<c>VisionPlatform.Training.*</c>): off on the console unless <c>--verbose</c>.</summary>
    internal const string SdkLogCategory = "VisionPlatform.Training";

    /// <summary>Runs the QuickStart.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="output">Where the sample's output goes (progress, or the YAML of <c>--dry-run</c> and <c>--print-cluster-setup</c>).</param>
    /// <param name="error">Where problems go: one line each. The SDK's log (with <c>--verbose</c>) goes to the process's stderr.</param>
    /// <returns>The exit code: 0 succeeded, 1 failed, 2 bad input, 3 executor unavailable with <c>--no-fallback</c>.</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var arguments = new QuickStartArguments();
        var parsed = arguments.Parse(args);
        if (parsed.Errors.Count == 0 && parsed.Action is not null)
        {
            // System.CommandLine's own actions: --help (-h, -?) and --version. The QuickStart itself sets no action.
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error }) == 0 ? ExitCodes.Succeeded : ExitCodes.BadInput;
        }

        if (parsed.Errors.Count > 0)
        {
            ErrorLine.Write(error, QuickStartArguments.Describe(parsed.Errors));
            return ExitCodes.BadInput;
        }

        QuickStartCommand command;
        try
        {
            command = arguments.ToCommand(parsed, TimeProvider.System);
        }
        catch (UsageException e)
        {
            ErrorLine.Write(error, e.Message);
            return ExitCodes.BadInput;
        }

        TrainingJobConfig config;
        try
        {
            config = command.Job.Build();
        }
        catch (TrainingValidationException e)
        {
            ErrorLine.Write(error, arguments.Describe(e));
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
            ErrorLine.Write(error, e.Message);
            return ExitCodes.BadInput;
        }

        // stdout carries the sample's output: logs go to stderr. appsettings.json turns the SDK's categories off on the
        // console (retries are not warnings for someone running a sample; every failure is reported once, below);
        // --verbose shows them.
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (command.Verbose)
        {
            builder.Logging.AddFilter<ConsoleLoggerProvider>(SdkLogCategory, LogLevel.Information);
        }

        builder.Services.AddTrainingExecutors(builder.Configuration.GetSection("Training"))
            .AddSubprocess()
            .AddKubernetes(builder.Configuration.GetSection("Training:Kubernetes"));
        builder.Services.AddSingleton(arguments);
        builder.Services.AddSingleton<QuickStartRunner>();

        using var host = builder.Build();
        if (command.PrintClusterSetup)
        {
            return ClusterSetupPrint.Print(host.Services, output, error);
        }

        try
        {
            await host.StartAsync().ConfigureAwait(false);
        }
        catch (OptionsValidationException e)
        {
            // Start-up validation names the configuration key; one line, as for flags.
            ErrorLine.Write(error, string.Join("; ", e.Failures));
            return ExitCodes.BadInput;
        }

        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var exitCode = await host.Services.GetRequiredService<QuickStartRunner>()
            .RunAsync(command, config, output, error, lifetime.ApplicationStopping).ConfigureAwait(false);
        await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        return exitCode;
    }
}
