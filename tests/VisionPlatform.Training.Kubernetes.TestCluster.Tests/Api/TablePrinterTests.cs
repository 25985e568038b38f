using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

/// <summary>The printers' cells for the states they distinguish, and durations as apimachinery's HumanDuration writes them.</summary>
public sealed class TablePrinterTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 10, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(-5, "<invalid>")]
    [InlineData(-1, "0s")]
    [InlineData(45, "45s")]
    [InlineData(119, "119s")]
    [InlineData(192, "3m12s")]
    [InlineData(300, "5m")]
    [InlineData(11 * 60 + 30, "11m")]
    [InlineData(179 * 60, "179m")]
    [InlineData(3 * 3600 + 20 * 60, "3h20m")]
    [InlineData(5 * 3600, "5h")]
    [InlineData(30 * 3600 + 59 * 60, "30h")]
    [InlineData(51 * 3600, "2d3h")]
    [InlineData(3 * 86400, "3d")]
    [InlineData(40 * 86400, "40d")]
    [InlineData(800 * 86400, "2y70d")]
    [InlineData(9 * 365 * 86400, "9y")]
    public void Durations_read_like_kubectl_ages(long seconds, string expected) =>
        HumanDuration.Format(TimeSpan.FromSeconds(seconds)).Should().Be(expected);

    [Theory]
    [InlineData("""{"conditions":[{"type":"Complete","status":"True"}]}""", false, "Complete")]
    [InlineData("""{"conditions":[{"type":"Failed","status":"True"},{"type":"FailureTarget","status":"True"}]}""", false, "Failed")]
    [InlineData("""{"conditions":[{"type":"FailureTarget","status":"True"}]}""", true, "Terminating")]
    [InlineData("""{"conditions":[{"type":"Suspended","status":"True"}]}""", false, "Suspended")]
    [InlineData("""{"conditions":[{"type":"Suspended","status":"False"}]}""", false, "Running")]
    [InlineData("""{"conditions":[{"type":"FailureTarget","status":"True"}]}""", false, "FailureTarget")]
    [InlineData("""{"conditions":[{"type":"SuccessCriteriaMet","status":"True"}]}""", false, "SuccessCriteriaMet")]
    [InlineData("""{}""", false, "Running")]
    public void A_jobs_status_comes_from_its_conditions_in_the_printers_order(string status, bool deleting, string expected)
    {
        var job = Job(completions: 1, parallelism: 1, status);
        if (deleting)
        {
            job["metadata"]!["deletionTimestamp"] = "2026-01-10T11:59:00Z";
        }

        Cells(JobPrinter.Printer, job)[1].Should().Be(expected);
    }

    [Theory]
    [InlineData(4, 4, """{"succeeded":2}""", "2/4")]
    [InlineData(null, 3, """{"succeeded":1}""", "1/1 of 3")]
    [InlineData(null, 1, """{}""", "0/1")]
    public void Completions_are_succeeded_over_completions_or_of_the_parallelism_for_a_work_queue(int? completions, int parallelism, string status, string expected) =>
        Cells(JobPrinter.Printer, Job(completions, parallelism, status))[2].Should().Be(expected);

    [Fact]
    public void Duration_is_empty_before_the_start_runs_until_now_and_stops_at_completion()
    {
        Cells(JobPrinter.Printer, Job(1, 1, "{}"))[3].Should().BeEmpty();
        Cells(JobPrinter.Printer, Job(1, 1, """{"startTime":"2026-01-10T11:57:00Z"}"""))[3].Should().Be("3m");
        Cells(JobPrinter.Printer, Job(1, 1, """{"startTime":"2026-01-10T09:00:00Z","completionTime":"2026-01-10T09:00:45Z"}"""))[3].Should().Be("45s");
    }

    [Theory]
    [InlineData("""{"phase":"Pending"}""", "0/1", "Pending")]
    [InlineData("""{"phase":"Pending","containerStatuses":[{"name":"main","ready":false,"restartCount":0,"state":{"waiting":{"reason":"ContainerCreating"}}}]}""", "0/1", "ContainerCreating")]
    [InlineData("""{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],"containerStatuses":[{"name":"main","ready":true,"restartCount":0,"state":{"running":{"startedAt":"2026-01-10T11:59:00Z"}}}]}""", "1/1", "Running")]
    [InlineData("""{"phase":"Succeeded","containerStatuses":[{"name":"main","ready":false,"restartCount":0,"state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}""", "0/1", "Completed")]
    [InlineData("""{"phase":"Failed","containerStatuses":[{"name":"main","ready":false,"restartCount":0,"state":{"terminated":{"exitCode":2,"reason":"Error"}}}]}""", "0/1", "Error")]
    [InlineData("""{"phase":"Failed","containerStatuses":[{"name":"main","ready":false,"restartCount":0,"state":{"terminated":{"exitCode":137}}}]}""", "0/1", "ExitCode:137")]
    [InlineData("""{"phase":"Pending","initContainerStatuses":[{"name":"fetch","ready":false,"restartCount":0,"state":{"running":{}}}],"containerStatuses":[{"name":"main","ready":false,"restartCount":0,"state":{"waiting":{"reason":"PodInitializing"}}}]}""", "0/1", "Init:0/1")]
    [InlineData("""{"phase":"Failed","initContainerStatuses":[{"name":"fetch","ready":false,"restartCount":0,"state":{"terminated":{"exitCode":1,"reason":"Error"}}}]}""", "0/1", "Init:Error")]
    [InlineData("""{"phase":"Pending","initContainerStatuses":[{"name":"fetch","ready":false,"restartCount":0,"state":{"waiting":{"reason":"ErrImagePull"}}}]}""", "0/1", "Init:ErrImagePull")]
    [InlineData("""{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"SchedulingGated"}]}""", "0/1", "SchedulingGated")]
    public void A_pods_ready_and_status_cells_follow_the_printer(string status, string ready, string expected)
    {
        var cells = Cells(PodPrinter.Printer, Pod(status, initContainer: status.Contains("initContainerStatuses", StringComparison.Ordinal)));
        (cells[1], cells[2]).Should().Be((ready, expected));
    }

    [Fact]
    public void A_deleted_unfinished_pod_is_terminating_and_a_finished_one_keeps_its_status()
    {
        var running = Pod("""{"phase":"Running","containerStatuses":[{"name":"main","ready":true,"restartCount":0,"state":{"running":{}}}]}""");
        running["metadata"]!["deletionTimestamp"] = "2026-01-10T12:00:30Z";
        Cells(PodPrinter.Printer, running)[2].Should().Be("Terminating");

        var done = Pod("""{"phase":"Succeeded","containerStatuses":[{"name":"main","ready":false,"restartCount":0,"state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}""");
        done["metadata"]!["deletionTimestamp"] = "2026-01-10T12:00:30Z";
        Cells(PodPrinter.Printer, done)[2].Should().Be("Completed");
        PodPrinter.Printer.Print(done, Now).Conditions!.ToJsonString().Should().Be(
            """[{"type":"Completed","status":"True","reason":"Succeeded","message":"The pod has completed successfully."}]""");
    }

    [Fact]
    public void Restarts_say_how_long_ago_the_last_one_was_and_the_wide_cells_fill_in_none()
    {
        var pod = Pod("""
            {"phase":"Running","podIP":"127.1.0.5","podIPs":[{"ip":"127.1.0.5"}],"containerStatuses":[{"name":"main","ready":true,"restartCount":2,
             "state":{"running":{}},"lastState":{"terminated":{"exitCode":1,"finishedAt":"2026-01-10T11:55:00Z"}}}]}
            """);
        pod["spec"]!["nodeName"] = "node-1";

        var cells = Cells(PodPrinter.Printer, pod);

        cells[3].Should().Be("2 (5m ago)");
        cells[4].Should().Be("10m");
        cells[5..].Should().Equal("127.1.0.5", "node-1", "<none>", "<none>");
        Cells(PodPrinter.Printer, Pod("""{"phase":"Pending"}"""))[5..].Should().Equal("<none>", "<none>", "<none>", "<none>");
    }

    private static JsonObject Job(int? completions, int parallelism, string status)
    {
        var spec = new JsonObject
        {
            ["parallelism"] = parallelism,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["batch.kubernetes.io/controller-uid"] = "u1" } },
            ["template"] = new JsonObject { ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "main", ["image"] = "img:1" }) } },
        };
        if (completions is { } c)
        {
            spec["completions"] = c;
        }

        return new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "j", ["creationTimestamp"] = "2026-01-10T11:50:00Z" },
            ["spec"] = spec,
            ["status"] = JsonNode.Parse(status),
        };
    }

    private static JsonObject Pod(string status, bool initContainer = false)
    {
        var spec = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "main", ["image"] = "img:1" }) };
        if (initContainer)
        {
            spec["initContainers"] = new JsonArray(new JsonObject { ["name"] = "fetch", ["image"] = "img:1" });
        }

        return new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "p", ["creationTimestamp"] = "2026-01-10T11:50:00Z" },
            ["spec"] = spec,
            ["status"] = JsonNode.Parse(status),
        };
    }

    private static List<string> Cells(ResourcePrinter printer, JsonObject obj) =>
        printer.Print(obj, Now).Cells.Select(c => c!.GetValue<string>()).ToList();
}
