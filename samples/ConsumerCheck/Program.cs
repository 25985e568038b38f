// Consumer check: uses the SDK only through its NuGet packages, exactly as a backend service does.
//
//   dotnet ConsumerCheck.dll --Training:Subprocess:Script=/path/to/train.py [--Training:Subprocess:RunsDirectory=/tmp/runs]
//
// Exit codes: 0 the run succeeded and everything checked out; 1 a check failed; 2 bad usage.
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using VisionPlatform.Training;
using VisionPlatform.Training.Storage;
using VisionPlatform.Training.Testing;

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Services.AddTrainingExecutors(builder.Configuration.GetSection(TrainingOptions.SectionName));

var script = builder.Configuration["Training:Subprocess:Script"];
if (script is null || !File.Exists(script))
{
    Console.Error.WriteLine($"usage: ConsumerCheck --Training:Subprocess:Script=<path to train.py> (got '{script}', which is not a file)");
    return 2;
}

var sdkVersion = typeof(TrainingJobConfig).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
Console.WriteLine($"sdk-version: {sdkVersion}");

// 1. The Testing package loads and its double keeps the contract.
using (var inMemory = new InMemoryTrainingExecutor())
{
    var config = Job("consumer-check-in-memory");
    var run = await inMemory.StartAsync(config);
    inMemory.AppendLog(run, "hello from the in-memory executor");
    var status = inMemory.Complete(run, 0);
    if (status.Phase != TrainingPhase.Succeeded || (await inMemory.StartAsync(config)) != run)
    {
        Console.Error.WriteLine($"FAIL: in-memory executor: {status.Phase}");
        return 1;
    }

    Console.WriteLine("in-memory executor: ok");
}

// 2. The Storage package loads (with its AWSSDK.S3 dependency), registers on the builder, validates its options and
//    lays out a run's keys; no server is needed for that, so nothing is sent.
using (var storage = new ServiceCollection()
    .AddTrainingExecutors()
    .AddArtifactStorage(o =>
    {
        o.ServiceUrl = "http://127.0.0.1:9";
        o.Bucket = "consumer-check";
        o.AccessKeyId = "consumer";
        o.SecretAccessKey = "check";
    })
    .Services.BuildServiceProvider())
{
    var store = storage.GetRequiredService<IArtifactStore>();
    var variables = ArtifactEnvironment.ForRun(store, "job 42");
    if (store is not S3ArtifactStore || store.GetRunPrefix("job 42") != "jobs/job~2042/" || variables[ArtifactEnvironment.BucketVariable] != "consumer-check")
    {
        Console.Error.WriteLine($"FAIL: storage: {store.GetType().Name} prefix '{store.GetRunPrefix("job 42")}'");
        return 1;
    }

    try
    {
        new S3ArtifactStore(new ArtifactStorageOptions { AccessKeyId = "only-the-id" }).Dispose();
        Console.Error.WriteLine("FAIL: storage: invalid options were accepted");
        return 1;
    }
    catch (OptionsValidationException e) when (e.Failures.Any(f => f.Contains("Training:Storage:Bucket", StringComparison.Ordinal)))
    {
        Console.WriteLine("storage package: ok");
    }
}

// 3. A real 2-epoch run of train.py through the subprocess executor, configured from appsettings.json + arguments.
using var host = builder.Build();
await host.StartAsync(); // validates Training options
using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
var executor = host.Services.GetRequiredService<ITrainingExecutor>();

var availability = await executor.CheckAvailabilityAsync(timeout.Token);
Console.WriteLine($"executor available: {availability.IsAvailable} {availability.Reason}");

var jobId = $"consumer-check-{DateTimeOffset.UtcNow:yyyyMMddHHmmss}-{Environment.ProcessId}";
var started = await executor.StartAsync(Job(jobId), timeout.Token);
Console.WriteLine($"started: {started}");

var lines = 0;
await foreach (var line in executor.GetLogsAsync(started, new TrainingLogOptions { Follow = true }, timeout.Token))
{
    lines++;
    Console.WriteLine($"  | {line.Text}");
}

// The handle is what a backend stores; rebuild it as a later request would.
var final = await executor.GetStatusAsync(TrainingRun.Parse(started.ToString()), timeout.Token);
Console.WriteLine($"final: {final.Phase} ({final.Reason}) exit={final.ExitCode} log-lines={lines}");
await host.StopAsync();

if (final.Phase != TrainingPhase.Succeeded || lines == 0)
{
    Console.Error.WriteLine($"FAIL: expected Succeeded with log output, got {final.Phase} ({final.Reason}) {final.Message}");
    return 1;
}

Console.WriteLine("consumer check: ok");
return 0;

static TrainingJobConfig Job(string jobId) => new TrainingJobConfigBuilder
{
    JobId = jobId,
    Framework = TrainingFramework.Ultralytics,
    TaskType = "object_detection",
    ModelName = "yolo11n",
    DatasetPath = "coco8",
    DatasetFormat = "yolo",
    Epochs = 2,
    BatchSize = 16,
}.Build();
