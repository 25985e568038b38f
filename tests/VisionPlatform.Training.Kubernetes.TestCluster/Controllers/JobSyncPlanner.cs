using System.Globalization;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>What one Job sync must do, in order.</summary>
internal sealed class JobSyncPlan
{
    /// <summary>Active pods to delete because the Job is finishing. Deletion keeps their tracking finalizer, so they are counted.</summary>
    public List<JsonObject> PodsToDelete { get; } = [];

    /// <summary>
    /// Active pods the Job no longer wants (suspension, more pods than needed): their tracking finalizer is removed
    /// first, so they are never counted as failed (upstream deleteJobPods).
    /// </summary>
    public List<JsonObject> PodsToReleaseAndDelete { get; } = [];

    /// <summary>Pods to create: one entry per pod, the completion index for Indexed Jobs or null.</summary>
    public List<int?> PodsToCreate { get; } = [];

    /// <summary>Pods whose <c>batch.kubernetes.io/job-tracking</c> finalizer is removed once their UID is in the interim status.</summary>
    public List<JsonObject> PodsToRemoveFinalizer { get; } = [];

    /// <summary>
    /// The status to write before removing finalizers (new UIDs in <c>uncountedTerminatedPods</c>, interim FailureTarget or
    /// SuccessCriteriaMet conditions), or null when nothing needs flushing first.
    /// </summary>
    public JsonObject? InterimStatus { get; set; }

    /// <summary>The status once the finalizers are gone: counters moved out of uncounted, the terminal condition when due.</summary>
    public required JsonObject FinalStatus { get; set; }

    /// <summary>Sync again after this delay even if nothing changes (active deadline, pod failure back-off).</summary>
    public TimeSpan? RequeueAfter { get; set; }
}

/// <summary>
/// The Job controller's <c>syncJob</c> as a pure function of the Job, its pods and the time: which pods to create and
/// delete, whose tracking finalizer to remove, and the status to write. It follows the upstream controller
/// (kubernetes pkg/controller/job) with the default feature gates of current servers: JobPodReplacementPolicy
/// (terminating counter, delayed terminal conditions FailureTarget→Failed and SuccessCriteriaMet→Complete),
/// JobBackoffLimitPerIndex, JobPodFailurePolicy and PodIndexLabel.
/// </summary>
internal static class JobSyncPlanner
{
    /// <summary>The maximum back-off before a replacement pod (upstream MaxJobPodFailureBackOff).</summary>
    public static readonly TimeSpan MaxPodFailureBackoff = TimeSpan.FromMinutes(6);

    public static bool IsFinished(JsonObject job) => job.ConditionIsTrue("Complete") || job.ConditionIsTrue("Failed");

    /// <param name="job">The Job as stored.</param>
    /// <param name="pods">The pods the Job controls (controller owner reference with the Job's UID).</param>
    /// <param name="now">The controller's clock.</param>
    /// <param name="podFailureBackoff">The base delay before replacing a failed pod (upstream DefaultJobPodFailureBackOff, 10 s).</param>
    public static JobSyncPlan Plan(JsonObject job, IReadOnlyList<JsonObject> pods, DateTimeOffset now, TimeSpan podFailureBackoff)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(pods);
        var status = (job["status"] as JsonObject)?.DeepClone().AsObject() ?? new JsonObject();
        if (IsFinished(job))
        {
            // a finished Job keeps its status; stray tracking finalizers are released (upstream syncOrphanPod)
            var done = new JobSyncPlan { FinalStatus = status };
            done.PodsToRemoveFinalizer.AddRange(pods.Where(p => p.HasFinalizer(JobLabels.TrackingFinalizer)));
            return done;
        }

        var ctx = new Context(job, pods, now, status);
        var plan = new JobSyncPlan { FinalStatus = status };

        var uncounted = status.Obj("uncountedTerminatedPods");
        var uncountedSucceeded = new HashSet<string>(uncounted.Strings("succeeded"), StringComparer.Ordinal);
        var uncountedFailed = new HashSet<string>(uncounted.Strings("failed"), StringComparer.Ordinal);

        var activePods = pods.Where(p => !p.IsTerminal() && !p.HasDeletionTimestamp()).ToList();
        var active = activePods.Count;
        var terminating = pods.Count(p => !p.IsTerminal() && p.HasDeletionTimestamp());
        var ready = activePods.Count(p => p.ConditionIsTrue("Ready"));

        var withFinalizer = pods.Where(p => p.HasFinalizer(JobLabels.TrackingFinalizer)).ToList();
        var newSucceeded = withFinalizer.Where(p => p.PodPhase() == "Succeeded" && !uncountedSucceeded.Contains(p.Uid())).ToList();
        var newFailed = withFinalizer.Where(p => IsPodFailed(p, ctx) && !uncountedFailed.Contains(p.Uid())).ToList();
        var succeeded = (int)(status.Long("succeeded") ?? 0) + newSucceeded.Count + uncountedSucceeded.Count;
        var failed = (int)(status.Long("failed") ?? 0)
            + newFailed.Count(p => PodFailurePolicyMatcher.Match(ctx.PodFailurePolicy, p).CountFailed)
            + uncountedFailed.Count;

        if (status["startTime"] is null && !ctx.Suspended)
        {
            status["startTime"] = KubeJson.Timestamp(now);
        }

        // the condition the Job is heading to: an interim one (FailureTarget, SuccessCriteriaMet) or, when an interim
        // condition is already stored, the terminal one that follows it
        JsonObject? finished = job.Condition("SuccessCriteriaMet") is { } met && met.Str("status") == "True" ? met.DeepClone().AsObject() : null;
        if (finished is null)
        {
            if (job.Condition("FailureTarget") is { } target && target.Str("status") == "True")
            {
                finished = NewCondition("Failed", "True", target.Str("reason"), target.Str("message"), now);
            }
            else if (FailJobMessage(pods, ctx) is { } failJobMessage)
            {
                finished = NewCondition("FailureTarget", "True", "PodFailurePolicy", failJobMessage, now);
            }
        }

        if (finished is null)
        {
            if (failed > ctx.BackoffLimit)
            {
                finished = NewCondition("FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit", now);
            }
            else if (PastActiveDeadline(status, ctx, now, out var remaining))
            {
                finished = NewCondition("FailureTarget", "True", "DeadlineExceeded", "Job was active longer than specified deadline", now);
            }
            else if (remaining is { } wait)
            {
                plan.RequeueAfter = Min(plan.RequeueAfter, wait);
            }
        }

        HashSet<int> succeededIndexes = [];
        HashSet<int> failedIndexes = [];
        if (ctx.Indexed)
        {
            succeededIndexes = CompletionIndexes.Parse(status.Str("completedIndexes"));
            foreach (var pod in pods.Where(p => p.PodPhase() == "Succeeded"))
            {
                if (CompletionIndex(pod) is { } ix && ix < ctx.Completions)
                {
                    succeededIndexes.Add(ix);
                }
            }

            succeeded = succeededIndexes.Count;
            if (ctx.BackoffLimitPerIndex is not null)
            {
                failedIndexes = FailedIndexes(status, pods, ctx, succeededIndexes);
                if (finished is null)
                {
                    if (ctx.MaxFailedIndexes is { } max && failedIndexes.Count > max)
                    {
                        finished = NewCondition("FailureTarget", "True", "MaxFailedIndexesExceeded", "Job has exceeded the specified maximal number of failed indexes", now);
                    }
                    else if (failedIndexes.Count > 0 && failedIndexes.Count + succeededIndexes.Count >= ctx.Completions)
                    {
                        finished = NewCondition("FailureTarget", "True", "FailedIndexes", "Job has failed indexes", now);
                    }
                }
            }
        }

        if (finished is null && ctx.Indexed && SuccessPolicyMessage(ctx, succeededIndexes) is { } successMessage)
        {
            // upstream matchSuccessPolicy: checked after every failure criterion; the remaining pods are terminated
            finished = NewCondition("SuccessCriteriaMet", "True", "SuccessPolicy", successMessage, now);
        }

        var suspendChanged = false;
        if (finished is not null)
        {
            plan.PodsToDelete.AddRange(activePods);
            terminating += activePods.Count;
            ready -= activePods.Count(p => p.ConditionIsTrue("Ready"));
            active = 0;
        }
        else
        {
            var manageCalled = false;
            if (!job.HasDeletionTimestamp())
            {
                active = ManageJob(plan, ctx, activePods, pods, succeeded, succeededIndexes, failedIndexes, ref terminating, ref ready, podFailureBackoff);
                manageCalled = true;
            }

            var complete = ctx.Completions is null ? succeeded > 0 && active == 0 : succeeded >= ctx.Completions && active == 0;
            if (complete)
            {
                finished = NewCondition("SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods", now);
            }
            else if (manageCalled)
            {
                suspendChanged = ctx.Suspended
                    ? EnsureCondition(status, "Suspended", "True", "JobSuspended", "Job suspended", now)
                    : EnsureCondition(status, "Suspended", "False", "JobResumed", "Job resumed", now);
                if (suspendChanged && !ctx.Suspended)
                {
                    // resuming restarts the activeDeadlineSeconds clock
                    status["startTime"] = KubeJson.Timestamp(now);
                }
            }
        }

        SetCounter(status, "active", active);
        status["ready"] = ready;
        status["terminating"] = terminating;

        TrackFinishedPods(plan, ctx, status, finished, uncountedSucceeded, uncountedFailed, succeededIndexes, failedIndexes);
        return plan;
    }

    /// <summary>Whether a pod counts as failed (upstream isPodFailed).</summary>
    private static bool IsPodFailed(JsonObject pod, Context ctx)
    {
        if (pod.PodPhase() == "Failed")
        {
            return true;
        }

        if (ctx.OnlyReplaceFailedPods)
        {
            return false;
        }

        // deleted pods count as failed: an orphan may never reach the Failed phase
        return pod.HasDeletionTimestamp() && pod.PodPhase() != "Succeeded";
    }

    private static string? FailJobMessage(IReadOnlyList<JsonObject> pods, Context ctx)
    {
        if (ctx.PodFailurePolicy is null)
        {
            return null;
        }

        foreach (var pod in pods)
        {
            if (IsPodFailed(pod, ctx) && PodFailurePolicyMatcher.Match(ctx.PodFailurePolicy, pod).FailJobMessage is { } message)
            {
                return message;
            }
        }

        return null;
    }

    private static bool PastActiveDeadline(JsonObject status, Context ctx, DateTimeOffset now, out TimeSpan? remaining)
    {
        remaining = null;
        if (ctx.ActiveDeadlineSeconds is not { } seconds || ctx.Suspended || KubeJson.ParseTime(status["startTime"]) is not { } start)
        {
            return false;
        }

        var left = start + TimeSpan.FromSeconds(seconds) - now;
        if (left <= TimeSpan.Zero)
        {
            return true;
        }

        remaining = left;
        return false;
    }

    private static int ManageJob(
        JobSyncPlan plan, Context ctx, List<JsonObject> activePods, IReadOnlyList<JsonObject> pods, int succeeded,
        HashSet<int> succeededIndexes, HashSet<int> failedIndexes, ref int terminating, ref int ready, TimeSpan podFailureBackoff)
    {
        var active = activePods.Count;
        if (ctx.Suspended)
        {
            plan.PodsToReleaseAndDelete.AddRange(activePods);
            terminating += activePods.Count;
            ready -= activePods.Count(p => p.ConditionIsTrue("Ready"));
            return 0;
        }

        int wantActive;
        if (ctx.Completions is null)
        {
            // once any pod succeeded, whatever runs is left running and nothing new starts
            wantActive = succeeded > 0 ? active : ctx.Parallelism;
        }
        else
        {
            wantActive = Math.Clamp(ctx.Completions.Value - succeeded, 0, ctx.Parallelism);
        }

        var removeAtLeast = Math.Max(0, active - wantActive);
        if (removeAtLeast > 0)
        {
            // prefer removing pods that are not yet running, then the youngest
            var victims = activePods
                .OrderBy(p => p.ObjOrNull("spec").Str("nodeName") is null ? 0 : 1)
                .ThenBy(p => p.PodPhase() == "Running" ? 1 : 0)
                .ThenByDescending(p => p.ObjOrNull("metadata").Str("creationTimestamp"), StringComparer.Ordinal)
                .Take(removeAtLeast)
                .ToList();
            plan.PodsToReleaseAndDelete.AddRange(victims);
            terminating += victims.Count;
            ready -= victims.Count(p => p.ConditionIsTrue("Ready"));
            return active - victims.Count;
        }

        var terminatingForReplacement = ctx.OnlyReplaceFailedPods ? terminating : 0;
        var diff = wantActive - terminatingForReplacement - active;
        if (diff <= 0)
        {
            return active;
        }

        if (!ctx.Indexed || ctx.BackoffLimitPerIndex is null)
        {
            var remaining = BackoffRemaining(pods, ctx, podFailureBackoff);
            if (remaining > TimeSpan.Zero)
            {
                plan.RequeueAfter = Min(plan.RequeueAfter, remaining);
                return active;
            }
        }

        if (ctx.Indexed)
        {
            var busy = new HashSet<int>(activePods.Select(CompletionIndex).OfType<int>());
            if (ctx.OnlyReplaceFailedPods)
            {
                busy.UnionWith(pods.Where(p => !p.IsTerminal() && p.HasDeletionTimestamp()).Select(CompletionIndex).OfType<int>());
            }

            var pending = Enumerable.Range(0, ctx.Completions!.Value)
                .Where(i => !succeededIndexes.Contains(i) && !failedIndexes.Contains(i) && !busy.Contains(i))
                .Take(diff)
                .ToList();
            plan.PodsToCreate.AddRange(pending.Select(i => (int?)i));
            return active + pending.Count;
        }

        for (var i = 0; i < diff; i++)
        {
            plan.PodsToCreate.Add(null);
        }

        return active + diff;
    }

    /// <summary>
    /// Upstream's pod failure back-off: after n failures since the last success, wait base × 2^(n-1) (capped at 6 min)
    /// from the last failure before creating a replacement.
    /// </summary>
    private static TimeSpan BackoffRemaining(IReadOnlyList<JsonObject> pods, Context ctx, TimeSpan baseDelay)
    {
        if (baseDelay <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var lastSuccess = pods.Where(p => p.PodPhase() == "Succeeded").Select(FinishTime).Max() ?? DateTimeOffset.MinValue;
        var failures = pods.Where(p => IsPodFailed(p, ctx)).Select(FinishTime).OfType<DateTimeOffset>().Where(t => t > lastSuccess).ToList();
        if (failures.Count == 0)
        {
            return TimeSpan.Zero;
        }

        var delay = TimeSpan.FromTicks((long)Math.Min(baseDelay.Ticks * Math.Pow(2, failures.Count - 1), MaxPodFailureBackoff.Ticks));
        return failures.Max() + delay - ctx.Now;
    }

    private static DateTimeOffset? FinishTime(JsonObject pod)
    {
        var finished = pod.ObjOrNull("status").ArrOrNull("containerStatuses").Objects()
            .Select(s => KubeJson.ParseTime(s.ObjOrNull("state").ObjOrNull("terminated")?["finishedAt"]))
            .OfType<DateTimeOffset>()
            .DefaultIfEmpty()
            .Max();
        if (finished != default)
        {
            return finished;
        }

        // upstream getFinishedTime: then the Ready=False transition, then the deletion request (the deletionTimestamp
        // less the grace period: a graceful deletion's timestamp lies in the future), then the creation
        if (pod.Condition("Ready") is { } readyCondition && readyCondition.Str("status") == "False"
            && KubeJson.ParseTime(readyCondition["lastTransitionTime"]) is { } notReadySince)
        {
            return notReadySince;
        }

        if (KubeJson.ParseTime(pod.ObjOrNull("metadata")?["deletionTimestamp"]) is { } deletion)
        {
            return deletion - TimeSpan.FromSeconds(pod.ObjOrNull("metadata").Long("deletionGracePeriodSeconds") ?? 0);
        }

        return KubeJson.ParseTime(pod.ObjOrNull("metadata")?["creationTimestamp"]);
    }

    private static HashSet<int> FailedIndexes(JsonObject status, IReadOnlyList<JsonObject> pods, Context ctx, HashSet<int> succeededIndexes)
    {
        var failedIndexes = CompletionIndexes.Parse(status.Str("failedIndexes"));
        foreach (var group in pods.Where(p => IsPodFailed(p, ctx)).GroupBy(CompletionIndex))
        {
            if (group.Key is not { } ix || ix >= ctx.Completions || succeededIndexes.Contains(ix))
            {
                continue;
            }

            var matches = group.Select(p => PodFailurePolicyMatcher.Match(ctx.PodFailurePolicy, p)).ToList();
            if (matches.Exists(m => m.Action == "FailIndex") || matches.Count(m => m.CountFailed) > ctx.BackoffLimitPerIndex)
            {
                failedIndexes.Add(ix);
            }
        }

        return failedIndexes;
    }

    /// <summary>Upstream trackJobStatusAndRemoveFinalizers: count finished pods through uncountedTerminatedPods.</summary>
    private static void TrackFinishedPods(
        JobSyncPlan plan, Context ctx, JsonObject status, JsonObject? finished, HashSet<string> uncountedSucceeded,
        HashSet<string> uncountedFailed, HashSet<int> succeededIndexes, HashSet<int> failedIndexes)
    {
        var before = ctx.Job["status"]?.DeepClone() ?? new JsonObject();
        var needsFlush = false;
        var jobDeleting = ctx.Job.HasDeletionTimestamp();
        var succeededList = new List<string>(uncountedSucceeded);
        var failedList = new List<string>(uncountedFailed);
        foreach (var pod in ctx.Pods.Where(p => p.HasFinalizer(JobLabels.TrackingFinalizer)))
        {
            var considerFailed = IsPodFailed(pod, ctx);
            var canRemove = jobDeleting || finished is not null || pod.PodPhase() == "Succeeded" || considerFailed;
            if (!canRemove)
            {
                continue;
            }

            plan.PodsToRemoveFinalizer.Add(pod);
            var uid = pod.Uid();
            if (pod.PodPhase() == "Succeeded" && !uncountedFailed.Contains(uid))
            {
                if (!ctx.Indexed && !uncountedSucceeded.Contains(uid))
                {
                    succeededList.Add(uid);
                    needsFlush = true;
                }
            }
            else if (considerFailed || (finished is not null && finished.Str("type") is not ("SuccessCriteriaMet" or "Complete")))
            {
                // when the Job is finishing, every pod that did not succeed is counted as failed
                var ix = CompletionIndex(pod);
                if (!uncountedFailed.Contains(uid) && (!ctx.Indexed || (ix is { } i && i < ctx.Completions))
                    && PodFailurePolicyMatcher.Match(ctx.PodFailurePolicy, pod).CountFailed)
                {
                    failedList.Add(uid);
                    needsFlush = true;
                }
            }
        }

        if (ctx.Indexed)
        {
            var completed = CompletionIndexes.Format(succeededIndexes);
            if (completed.Length > 0 || status["completedIndexes"] is not null)
            {
                status["completedIndexes"] = completed;
            }

            SetCounter(status, "succeeded", succeededIndexes.Count);
            if (ctx.BackoffLimitPerIndex is not null)
            {
                status["failedIndexes"] = CompletionIndexes.Format(failedIndexes);
            }
        }

        var uncounted = status.Obj("uncountedTerminatedPods");
        SetList(uncounted, "succeeded", succeededList);
        SetList(uncounted, "failed", failedList);

        JsonObject? terminal = null;
        if (finished is not null)
        {
            var type = finished.Str("type");
            if (type == "FailureTarget")
            {
                AppendCondition(status, finished);
                needsFlush = true;
                terminal = NewCondition("Failed", "True", finished.Str("reason"), finished.Str("message"), ctx.Now);
            }
            else if (type == "SuccessCriteriaMet")
            {
                if (ctx.Job.Condition("SuccessCriteriaMet") is null)
                {
                    AppendCondition(status, finished);
                    needsFlush = true;
                }

                terminal = NewCondition("Complete", "True", finished.Str("reason"), finished.Str("message"), ctx.Now);
            }
            else
            {
                terminal = finished;
            }
        }

        if (needsFlush || !JsonNode.DeepEquals(before, status))
        {
            plan.InterimStatus = status.DeepClone().AsObject();
        }

        // after the finalizers are removed the uncounted pods become counters
        var final = status.DeepClone().AsObject();
        var finalUncounted = final.Obj("uncountedTerminatedPods");
        SetCounter(final, "succeeded", (int)(final.Long("succeeded") ?? 0) + (ctx.Indexed ? 0 : succeededList.Count));
        SetCounter(final, "failed", (int)(final.Long("failed") ?? 0) + failedList.Count);
        finalUncounted.Remove("succeeded");
        finalUncounted.Remove("failed");

        if (terminal is not null && (final.Long("terminating") ?? 0) == 0)
        {
            EnsureCondition(final, terminal.Str("type")!, "True", terminal.Str("reason"), terminal.Str("message"), ctx.Now);
            if (terminal.Str("type") == "Complete")
            {
                final["completionTime"] = KubeJson.Timestamp(ctx.Now);
            }
        }

        plan.FinalStatus = final;
    }

    private static void SetList(JsonObject parent, string name, List<string> values)
    {
        if (values.Count == 0)
        {
            parent.Remove(name);
        }
        else
        {
            parent[name] = KubeJson.StringArray(values);
        }
    }

    /// <summary><c>active</c>, <c>succeeded</c> and <c>failed</c> are omitempty: 0 is not written.</summary>
    private static void SetCounter(JsonObject status, string name, int value)
    {
        if (value == 0)
        {
            status.Remove(name);
        }
        else
        {
            status[name] = value;
        }
    }

    private static JsonObject NewCondition(string type, string status, string? reason, string? message, DateTimeOffset now)
    {
        var condition = new JsonObject
        {
            ["type"] = type,
            ["status"] = status,
            ["lastProbeTime"] = KubeJson.Timestamp(now),
            ["lastTransitionTime"] = KubeJson.Timestamp(now),
        };
        if (!string.IsNullOrEmpty(reason))
        {
            condition["reason"] = reason;
        }

        if (!string.IsNullOrEmpty(message))
        {
            condition["message"] = message;
        }

        return condition;
    }

    private static void AppendCondition(JsonObject status, JsonObject condition)
    {
        if (status["conditions"] is not JsonArray conditions)
        {
            conditions = [];
            status["conditions"] = conditions;
        }

        conditions.Add(condition.DeepClone());
    }

    /// <summary>Upstream ensureJobConditionStatus: replace a condition whose status/reason/message changed; add only non-False ones.</summary>
    private static bool EnsureCondition(JsonObject status, string type, string conditionStatus, string? reason, string? message, DateTimeOffset now)
    {
        var conditions = status["conditions"] as JsonArray;
        var existing = conditions.Objects().FirstOrDefault(c => c.Str("type") == type);
        if (existing is not null)
        {
            if (existing.Str("status") == conditionStatus && existing.Str("reason") == reason && existing.Str("message") == message)
            {
                return false;
            }

            var index = conditions!.IndexOf(existing);
            conditions[index] = NewCondition(type, conditionStatus, reason, message, now);
            return true;
        }

        if (conditionStatus == "False")
        {
            return false;
        }

        AppendCondition(status, NewCondition(type, conditionStatus, reason, message, now));
        return true;
    }

    /// <summary>
    /// Upstream matchSuccessPolicy: the first rule whose <c>succeededIndexes</c> all succeeded (or, with
    /// <c>succeededCount</c>, at least that many of them), or whose <c>succeededCount</c> alone is reached.
    /// </summary>
    private static string? SuccessPolicyMessage(Context ctx, HashSet<int> succeededIndexes)
    {
        var rules = ctx.Job.ObjOrNull("spec").ObjOrNull("successPolicy").ArrOrNull("rules").Objects().ToList();
        if (rules.Count == 0 || succeededIndexes.Count == 0)
        {
            return null;
        }

        for (var i = 0; i < rules.Count; i++)
        {
            var count = rules[i].Long("succeededCount");
            if (rules[i].Str("succeededIndexes") is { } text)
            {
                HashSet<int> required;
                try
                {
                    required = CompletionIndexes.Parse(text);
                }
                catch (FormatException)
                {
                    continue;
                }

                required.RemoveWhere(ix => ix >= (ctx.Completions ?? 0));
                if (required.Count == 0)
                {
                    continue;
                }

                var matched = required.Count(succeededIndexes.Contains);
                if (count is { } c ? matched >= c : matched == required.Count)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"Matched rules at index {i}");
                }
            }
            else if (count is { } c && succeededIndexes.Count >= c)
            {
                return string.Create(CultureInfo.InvariantCulture, $"Matched rules at index {i}");
            }
        }

        return null;
    }

    internal static int? CompletionIndex(JsonObject pod)
    {
        var text = pod.Annotation(JobLabels.CompletionIndex) ?? pod.Label(JobLabels.CompletionIndex);
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : null;
    }

    private static TimeSpan? Min(TimeSpan? current, TimeSpan candidate) =>
        current is { } c && c < candidate ? c : candidate;

    /// <summary>The Job's spec with the apiserver's defaults applied.</summary>
    private sealed class Context
    {
        public Context(JsonObject job, IReadOnlyList<JsonObject> pods, DateTimeOffset now, JsonObject status)
        {
            Job = job;
            Pods = pods;
            Now = now;
            Status = status;
            var spec = job.ObjOrNull("spec");
            Completions = spec.Int("completions");
            Parallelism = spec.Int("parallelism") ?? 1;
            BackoffLimitPerIndex = spec.Int("backoffLimitPerIndex");
            BackoffLimit = spec.Int("backoffLimit") ?? (BackoffLimitPerIndex is null ? 6 : int.MaxValue);
            MaxFailedIndexes = spec.Int("maxFailedIndexes");
            Suspended = spec.Bool("suspend") == true;
            ActiveDeadlineSeconds = spec.Long("activeDeadlineSeconds");
            Indexed = spec.Str("completionMode") == "Indexed";
            PodFailurePolicy = spec.ObjOrNull("podFailurePolicy");
            var replacement = spec.Str("podReplacementPolicy") ?? (PodFailurePolicy is null ? "TerminatingOrFailed" : "Failed");
            OnlyReplaceFailedPods = replacement == "Failed";
        }

        public JsonObject Job { get; }

        public IReadOnlyList<JsonObject> Pods { get; }

        public DateTimeOffset Now { get; }

        public JsonObject Status { get; }

        public int? Completions { get; }

        public int Parallelism { get; }

        public int BackoffLimit { get; }

        public int? BackoffLimitPerIndex { get; }

        public int? MaxFailedIndexes { get; }

        public bool Suspended { get; }

        public long? ActiveDeadlineSeconds { get; }

        public bool Indexed { get; }

        public JsonObject? PodFailurePolicy { get; }

        public bool OnlyReplaceFailedPods { get; }
    }
}
