namespace VisionPlatform.Training.Testing;

/// <summary>
/// Behaviours an executor may legitimately lack. A case that needs one is left out of
/// <see cref="ExecutorConformanceSuite.CasesFor"/> when the harness does not declare it; every other case applies to every executor.
/// </summary>
[Flags]
public enum ExecutorConformanceCapabilities
{
    /// <summary>Only the cases every executor must pass.</summary>
    None = 0,

    /// <summary>The harness can end a run's record as the executor's retention would (<see cref="ExecutorConformanceHarness.ExpireRunAsync"/>).</summary>
    ExpireRecords = 1,

    /// <summary>The executor refuses some valid-looking job before starting anything (<see cref="ExecutorConformanceHarness.CreateRejectedJob"/>).</summary>
    RejectsJobs = 2,

    /// <summary>Every capability.</summary>
    All = ExpireRecords | RejectsJobs,
}
