// QuickStart: run one training job end to end through VisionPlatform.Training.
//   dotnet run --project samples/VisionPlatform.Training.QuickStart -- [--epochs 5] [--dry-run] [--verbose] [--help]
//   dotnet run --project samples/VisionPlatform.Training.QuickStart -- --print-cluster-setup > cluster-setup.yaml
// Exit codes: 0 the job succeeded, 1 it failed, 2 bad input (one line on stderr naming the flag or setting),
//   3 the executor is unavailable and --no-fallback was given (one line on stderr with the reason).
using VisionPlatform.Training.QuickStart;

return await QuickStartApp.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
