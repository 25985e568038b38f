using System.Globalization;

namespace VisionPlatform.Training.Testing;

/// <summary>List, find and validation.</summary>
public static partial class ExecutorConformanceSuite
{
    private static IEnumerable<ExecutorConformanceCase> QueryCases()
    {
        yield return Case(
            "List_filters_by_labels_project_and_phase",
            "ListAsync returns the runs whose labels contain every queried label, of the queried project, in the queried phases; no filter matches every run.",
            async s =>
            {
                // A label unique to this case, so runs of other cases on a shared executor (one cluster namespace) do not count.
                var suite = "c" + Guid.NewGuid().ToString("N")[..12];
                TrainingRunQuery Query(string? project = null, TrainingPhase[]? phases = null, params (string Key, string Value)[] labels) => new()
                {
                    ProjectId = project,
                    Phases = phases,
                    Labels = labels.Append((Key: "conformance-suite", Value: suite)).ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal),
                };

                ConformanceJobRequest Request(string jobId, string project, ConformanceJobBehavior behavior, params (string Key, string Value)[] labels) => new()
                {
                    JobId = jobId,
                    ProjectId = project,
                    Behavior = behavior,
                    Labels = labels.Append((Key: "conformance-suite", Value: suite)).ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal),
                };

                var a = await s.StartAsync(s.Job(Request("conformance-list-a", "project-1", ConformanceJobBehavior.Succeed, ("team", "vision")))).ConfigureAwait(false);
                var b = await s.StartAsync(s.Job(Request("conformance-list-b", "project-1", ConformanceJobBehavior.RunUntilStopped, ("team", "robotics")))).ConfigureAwait(false);
                var c = await s.StartAsync(s.Job(Request("conformance-list-c", "project-2", ConformanceJobBehavior.Succeed, ("team", "vision"), ("stage", "gold")))).ConfigureAwait(false);
                await s.WaitTerminalAsync(a).ConfigureAwait(false);
                await s.WaitTerminalAsync(c).ConfigureAwait(false);
                await s.WaitRunningAsync(b).ConfigureAwait(false);

                async Task Expect(TrainingRunQuery query, string what, params TrainingRun[] expected)
                {
                    var listed = await s.ListAsync(query).ConfigureAwait(false);
                    var got = listed.Select(l => l.Run.JobId).Order(StringComparer.Ordinal).ToArray();
                    var want = expected.Select(r => r.JobId).Order(StringComparer.Ordinal).ToArray();
                    s.Check(got.SequenceEqual(want), $"ListAsync {what} returned [{string.Join(", ", got)}], not [{string.Join(", ", want)}]");
                    s.Check(listed.All(l => expected.Contains(l.Run)), $"ListAsync {what} returned handles that differ from those StartAsync returned");
                }

                await Expect(Query(), "with only the case's label", a, b, c).ConfigureAwait(false);
                await Expect(Query(labels: ("team", "vision")), "with team=vision", a, c).ConfigureAwait(false);
                await Expect(Query(labels: [("team", "vision"), ("stage", "gold")]), "with team=vision and stage=gold", c).ConfigureAwait(false);
                await Expect(Query(labels: ("team", "nobody")), "with team=nobody").ConfigureAwait(false);
                await Expect(Query(labels: ("stage", "vision")), "with stage=vision (a value of another key)").ConfigureAwait(false);
                await Expect(Query(project: "project-1"), "with project project-1", a, b).ConfigureAwait(false);
                await Expect(Query(project: "project-3"), "with project project-3").ConfigureAwait(false);
                await Expect(Query(phases: [TrainingPhase.Running]), "in phase Running", b).ConfigureAwait(false);
                await Expect(Query(phases: [TrainingPhase.Succeeded, TrainingPhase.Failed]), "in phases Succeeded and Failed", a, c).ConfigureAwait(false);
                await Expect(Query(project: "project-1", phases: [TrainingPhase.Succeeded], labels: ("team", "vision")), "with project, phase and label together", a).ConfigureAwait(false);
                var all = await s.ListAsync(TrainingRunQuery.All).ConfigureAwait(false);
                s.Check(new[] { a, b, c }.All(r => all.Any(l => l.Run == r)), "ListAsync without filters leaves out runs this case started");
            });

        yield return Case(
            "List_with_empty_filters_matches_every_run",
            "An empty Phases collection or an empty Labels dictionary is no filter, as null is: ListAsync returns every run the other filters match.",
            async s =>
            {
                var project = "p" + Guid.NewGuid().ToString("N")[..12];
                var a = await s.StartAsync(s.Job(new ConformanceJobRequest { JobId = "conformance-empty-a", ProjectId = project })).ConfigureAwait(false);
                var b = await s.StartAsync(s.Job(new ConformanceJobRequest { JobId = "conformance-empty-b", ProjectId = project, Behavior = ConformanceJobBehavior.RunUntilStopped })).ConfigureAwait(false);
                await s.WaitTerminalAsync(a).ConfigureAwait(false);
                await s.WaitRunningAsync(b).ConfigureAwait(false);
                foreach (var (query, what) in new[]
                {
                    (new TrainingRunQuery { ProjectId = project }, "with only the project"),
                    (new TrainingRunQuery { ProjectId = project, Phases = [] }, "with an empty Phases collection"),
                    (new TrainingRunQuery { ProjectId = project, Labels = new Dictionary<string, string>(StringComparer.Ordinal) }, "with an empty Labels dictionary"),
                })
                {
                    var got = (await s.ListAsync(query).ConfigureAwait(false)).Select(l => l.Run.JobId).Order(StringComparer.Ordinal).ToArray();
                    s.Check(got.SequenceEqual(["conformance-empty-a", "conformance-empty-b"]), $"ListAsync {what} returned [{string.Join(", ", got)}], not both runs of the project");
                }
            });

        yield return Case(
            "Find_by_job_id_returns_the_run",
            "FindAsync returns the handle StartAsync returned for the job id, while the run runs and after it ended; an unknown job id gives null.",
            async s =>
            {
                var run = await s.StartAsync(s.Job("conformance-find", ConformanceJobBehavior.RunUntilStopped)).ConfigureAwait(false);
                s.Check(await s.Executor.FindAsync("conformance-find", s.CancellationToken).ConfigureAwait(false) == run, "FindAsync does not return the started run");
                await s.WaitRunningAsync(run).ConfigureAwait(false);
                await s.StopAsync(run).ConfigureAwait(false);
                s.Check(await s.Executor.FindAsync("conformance-find", s.CancellationToken).ConfigureAwait(false) == run, "FindAsync does not return the run after it was stopped");
                s.Check(await s.Executor.FindAsync("conformance-find-none", s.CancellationToken).ConfigureAwait(false) is null, "FindAsync of an unknown job id did not return null");
            });

        yield return Case(
            "Invalid_job_is_rejected_before_anything_starts",
            "A job the executor cannot run is refused by StartAsync with a TrainingValidationException naming the field, and no run exists afterwards.",
            async s =>
            {
                var rejected = s.Harness.CreateRejectedJob("conformance-rejected");
                s.Check(rejected.Config.JobId == "conformance-rejected", $"the harness's CreateRejectedJob returned job id '{rejected.Config.JobId}'");
                var error = await s.ThrowsAsync<TrainingValidationException>(() => s.Executor.StartAsync(rejected.Config, s.CancellationToken), "StartAsync of a job the executor must refuse").ConfigureAwait(false);
                s.Check(error.Errors.Any(e => e.Field == rejected.Field), $"the validation errors name [{string.Join(", ", error.Errors.Select(e => e.Field))}], not '{rejected.Field}'");
                s.Check(error.Errors.All(e => !string.IsNullOrWhiteSpace(e.Rule)), "a validation error has no rule");
                s.Check(await s.Executor.FindAsync("conformance-rejected", s.CancellationToken).ConfigureAwait(false) is null, "a run exists for the refused job");
                var listed = await s.ListAsync(TrainingRunQuery.All).ConfigureAwait(false);
                s.Check(!listed.Any(l => l.Run.JobId == "conformance-rejected"), string.Create(CultureInfo.InvariantCulture, $"ListAsync lists the refused job ({listed.Count} run(s))"));
            },
            ExecutorConformanceCapabilities.RejectsJobs);
    }
}
