using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Elects the one host per namespace that archives runs' logs, with a <c>coordination.k8s.io/v1</c> Lease
/// (<see cref="KubernetesLogArchiveOptions.LeaseName"/>). Written here on the typed client rather than with KubernetesClient's
/// <c>k8s.LeaderElection</c>, which reads the wall clock (not a <see cref="TimeProvider"/>), logs nothing through
/// <see cref="ILogger"/> and cannot wait for the archivers to flush before it releases.
/// <para>
/// Every <see cref="KubernetesLogArchiveOptions.LeaseDuration"/>/3 the host reads the Lease and: creates it (holding it)
/// when it is absent; renews it (a PUT with the resourceVersion read) when it holds it; takes it when it is released (no
/// holder) or another holder's record has not changed for the Lease's duration, measured on this host's clock from when it
/// first saw that record (so clocks need not agree). A 409 Conflict means another host won. The holder stops archiving when
/// no renewal succeeded for four fifths of the duration (counted from when the last successful one was sent), a fifth
/// before any other host can take over; a graceful stop releases the Lease after the archivers flushed.
/// </para>
/// </summary>
internal sealed class LogArchiveLease
{
    private readonly IKubernetes _client;
    private readonly string _ns;
    private readonly string _name;
    private readonly int _seconds;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _lossAfter;
    private readonly Func<Task> _acquired;
    private readonly Func<Task> _lost;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private V1Lease? _written;
    private long _renewedAt;
    private string? _observedVersion;
    private long _observedAt;
    private bool _forbiddenLogged;
    private string? _loggedHolder;
    private volatile bool _held;

    /// <param name="client">The monitor's client.</param>
    /// <param name="ns">The namespace (the Lease lives there).</param>
    /// <param name="options">The Lease's name and duration.</param>
    /// <param name="acquired">Called once this host holds the Lease (start archiving).</param>
    /// <param name="lost">Called once this host lost it (stop archiving without writing); awaited before trying again.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The monitor's logger.</param>
    public LogArchiveLease(IKubernetes client, string ns, KubernetesLogArchiveOptions options, Func<Task> acquired, Func<Task> lost, TimeProvider time, ILogger logger)
    {
        _client = client;
        _ns = ns;
        _name = options.LeaseName;
        _seconds = (int)options.LeaseDuration.TotalSeconds;
        _interval = options.LeaseDuration / 3;
        _lossAfter = options.LeaseDuration - (options.LeaseDuration / 5);
        _acquired = acquired;
        _lost = lost;
        _time = time;
        _logger = logger;
        Identity = string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}_{Environment.ProcessId}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
    }

    /// <summary>This host's holder identity: host name, process id and a random suffix (several monitors in one process differ).</summary>
    public string Identity { get; }

    /// <summary>Whether this host holds the Lease (and so archives).</summary>
    public bool IsHeld => _held;

    /// <summary>Acquires and renews the Lease until <paramref name="cancellationToken"/> is cancelled; never throws.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        LogArchiveLog.LeaseIdentity(_logger, _ns, _name, Identity);
        while (!cancellationToken.IsCancellationRequested)
        {
            if (_held && _time.GetElapsedTime(_renewedAt) >= _lossAfter)
            {
                await LoseAsync($"no renewal succeeded for {_lossAfter.TotalSeconds:0.#} s").ConfigureAwait(false);
            }

            var sentAt = _time.GetTimestamp();
            var budget = _held ? _lossAfter - _time.GetElapsedTime(_renewedAt) : _interval;
            using (var timeout = new CancellationTokenSource(budget > TimeSpan.Zero ? budget : TimeSpan.FromMilliseconds(1), _time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
            {
                try
                {
                    if (await TryHoldAsync(linked.Token).ConfigureAwait(false))
                    {
                        _renewedAt = sentAt;
                        if (!_held)
                        {
                            _held = true;
                            LogArchiveLog.LeaseAcquired(_logger, _ns, _name, Identity);
                            await _acquired().ConfigureAwait(false);
                        }
                    }
                    else if (_held)
                    {
                        await LoseAsync("another host holds it").ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.Forbidden))
                {
                    if (!_forbiddenLogged)
                    {
                        _forbiddenLogged = true;
                        LogArchiveLog.LeaseForbidden(_logger, _name, _ns, ex.Message);
                    }

                    if (_held)
                    {
                        await LoseAsync("forbidden").ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or OperationCanceledException or IOException or System.Text.Json.JsonException)
                {
                    LogArchiveLog.LeaseRequestFailed(_logger, _name, _ns, ex.Message);
                }
            }

            var delay = _interval;
            if (_held)
            {
                var left = _lossAfter - _time.GetElapsedTime(_renewedAt);
                delay = left < delay ? (left > TimeSpan.Zero ? left : TimeSpan.Zero) : delay;
            }

            try
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>
    /// Gives the Lease up (after <see cref="RunAsync"/> ended and the archivers flushed): no holder, with the resourceVersion
    /// last written as precondition, so another host takes over at once. Never throws; if it fails the Lease expires.
    /// </summary>
    public async Task ReleaseAsync()
    {
        if (!_held || _written is not { } lease)
        {
            return;
        }

        _held = false;
        lease.Spec ??= new V1LeaseSpec();
        lease.Spec.HolderIdentity = null;
        lease.Spec.AcquireTime = null;
        lease.Spec.RenewTime = _time.GetUtcNow().UtcDateTime;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), _time);
        try
        {
            await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, _name, _ns, cancellationToken: timeout.Token).ConfigureAwait(false);
            LogArchiveLog.LeaseReleased(_logger, _name, _ns);
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or OperationCanceledException or IOException)
        {
            LogArchiveLog.LeaseRequestFailed(_logger, _name, _ns, ex.Message); // It expires instead.
        }
    }

    private async Task LoseAsync(string reason)
    {
        _written = null;
        LogArchiveLog.LeaseLost(_logger, _name, _ns, reason);
        await _lost().ConfigureAwait(false); // Every archiver has ended (without writing) when this completes.
        _held = false;
    }

    /// <returns>Whether this host holds the Lease after the call.</returns>
    private async Task<bool> TryHoldAsync(CancellationToken cancellationToken)
    {
        V1Lease lease;
        try
        {
            lease = await _client.CoordinationV1.ReadNamespacedLeaseAsync(_name, _ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
        {
            var now = _time.GetUtcNow().UtcDateTime;
            var created = new V1Lease
            {
                Metadata = new V1ObjectMeta { Name = _name, NamespaceProperty = _ns },
                Spec = new V1LeaseSpec { HolderIdentity = Identity, LeaseDurationSeconds = _seconds, AcquireTime = now, RenewTime = now, LeaseTransitions = 0 },
            };
            try
            {
                _written = await _client.CoordinationV1.CreateNamespacedLeaseAsync(created, _ns, cancellationToken: cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (HttpOperationException conflict) when (KubernetesErrors.Is(conflict, HttpStatusCode.Conflict))
            {
                return false; // Another host created it first.
            }
        }

        var spec = lease.Spec ??= new V1LeaseSpec();
        var time = _time.GetUtcNow().UtcDateTime;
        if (spec.HolderIdentity != Identity)
        {
            if (!string.IsNullOrEmpty(spec.HolderIdentity))
            {
                var version = lease.Metadata?.ResourceVersion;
                if (version != _observedVersion)
                {
                    _observedVersion = version;
                    _observedAt = _time.GetTimestamp();
                    if (spec.HolderIdentity != _loggedHolder)
                    {
                        _loggedHolder = spec.HolderIdentity;
                        LogArchiveLog.LeaseHeldByOther(_logger, _name, _ns, spec.HolderIdentity);
                    }

                    return false;
                }

                if (_time.GetElapsedTime(_observedAt) < TimeSpan.FromSeconds(Math.Max(1, spec.LeaseDurationSeconds ?? _seconds)))
                {
                    return false;
                }
            }

            spec.HolderIdentity = Identity;
            spec.AcquireTime = time;
            spec.LeaseTransitions = (spec.LeaseTransitions ?? 0) + 1;
        }

        spec.RenewTime = time;
        spec.LeaseDurationSeconds = _seconds;
        try
        {
            _written = await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, _name, _ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.Conflict))
        {
            _observedVersion = null; // Changed since it was read: another host wrote it.
            return false;
        }
    }
}
