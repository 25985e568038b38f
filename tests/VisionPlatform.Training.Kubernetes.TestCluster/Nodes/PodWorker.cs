using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>
/// The kubelet's work for one pod (restartPolicy Never semantics): ContainerCreating, image "pull" through the image
/// registry (ErrImagePull / ImagePullBackOff forever for unknown images), environment (CreateContainerConfigError),
/// one local process per container, Running, then Succeeded or Failed from the exit codes. Deletion sends SIGTERM to
/// every container's process group, SIGKILL after the grace period, records the exit and finalises the deletion.
/// Each step is also announced as the kubelet's Event (Pulling, Pulled, Failed, BackOff, Created, Started, Killing).
/// </summary>
internal sealed class PodWorker : IAsyncDisposable
{
    private readonly ClusterContext _context;
    private readonly WorkloadState _state;
    private readonly SimulatedNode _node;
    private readonly KubeletNode _kubelet;
    private readonly string _ns;
    private readonly string _name;
    private readonly List<JsonObject> _containers;
    private readonly Dictionary<string, JsonObject> _statuses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RunningContainer> _processes = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _deletionRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _abandoned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly string _podIp;
    private readonly Func<IReadOnlyList<DnsRecord>> _dnsRecords;
    private readonly Lock _hostsGate = new();
    private readonly ConcurrentDictionary<string, bool> _probeReady = new(StringComparer.Ordinal);
    private readonly List<Task> _probes = [];
    private TaskCompletionSource _probeChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PodSandbox? _sandbox;
    private string? _hostsContent;
    private JsonObject _pod;
    private string _phase = "Pending";
    private string? _startTime;
    private Task? _run;

    public PodWorker(
        ClusterContext context, WorkloadState state, KubeletNode kubelet, JsonObject pod, SimulatedNode node, string podIp, Func<IReadOnlyList<DnsRecord>> dnsRecords)
    {
        _kubelet = kubelet;
        _dnsRecords = dnsRecords;
        _context = context;
        _state = state;
        _pod = pod;
        _node = node;
        _podIp = podIp;
        _ns = pod.Namespace();
        _name = pod.Name();
        Uid = pod.Uid();
        _containers = pod.ObjOrNull("spec").ArrOrNull("containers").Objects().Select(c => c.DeepClone().AsObject()).ToList();
    }

    public string Uid { get; }

    public string NodeName => _node.Name;

    /// <summary>True once the worker has nothing more to do for this pod.</summary>
    public bool Finished => _run?.IsCompleted == true;

    public void Start() => _run = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>The pod got a deletionTimestamp: stop the containers gracefully and finalise the deletion.</summary>
    public void RequestDeletion(JsonObject pod)
    {
        _pod = pod;
        _deletionRequested.TrySetResult();
    }

    /// <summary>The pod vanished from storage or its node was removed: kill the containers, nothing to report.</summary>
    public void Abandon() => _abandoned.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        _abandoned.TrySetResult();
        await _stop.CancelAsync().ConfigureAwait(false);

        // the run loop's finally kills and disposes every process it started
        if (_run is not null)
        {
            try
            {
                await _run.WaitAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException or StoreException)
            {
                // stopping
            }
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RunCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the node agent is stopping
        }
        catch (StoreException ex) when (ex.Code == 404)
        {
            // the pod is gone
        }
        finally
        {
            foreach (var (container, process) in _processes)
            {
                _state.Containers.TryRemove(WorkloadState.ContainerKey(_ns, _name, container), out _);
                await process.DisposeAsync().ConfigureAwait(false);
            }

            _processes.Clear();
            await Task.WhenAll(_probes).ConfigureAwait(false);
        }
    }

    private async Task RunCoreAsync(CancellationToken cancellationToken)
    {
        _startTime = Now();
        foreach (var container in _containers)
        {
            _statuses[Name(container)] = Waiting(container, "ContainerCreating", null);
        }

        WriteStatus();
        var mappings = await PullImagesAsync(cancellationToken).ConfigureAwait(false);
        if (mappings is null)
        {
            await FinishInterruptedAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!PrepareSandbox(mappings))
        {
            return;
        }

        var launches = await PrepareLaunchesAsync(mappings, cancellationToken).ConfigureAwait(false);
        if (launches is null)
        {
            await FinishInterruptedAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        StartContainers(launches);
        foreach (var container in _containers)
        {
            if (_state.TakeOomKill(container.Str("image") ?? string.Empty) && _processes.TryGetValue(Name(container), out var victim))
            {
                victim.KillAsOutOfMemory();
            }
        }

        await SuperviseAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Image pulls: every container's image must resolve; unknown images alternate ErrImagePull and ImagePullBackOff.
    /// The container creation delay passes once, while the first pulls run. <c>Always</c> pulls every time,
    /// <c>IfNotPresent</c> once per node, <c>Never</c> takes any image the cluster maps as present (an unmapped one
    /// fails as a pull does).
    /// </summary>
    private async Task<Dictionary<string, ImageMapping>?> PullImagesAsync(CancellationToken cancellationToken)
    {
        var backoff = _state.Options.ImagePullBackoff;
        for (var attempt = 0; ; attempt++)
        {
            var mappings = new Dictionary<string, ImageMapping>(StringComparer.Ordinal);
            var pulls = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var container in _containers)
            {
                var image = container.Str("image") ?? string.Empty;
                var mapping = _state.Images.Resolve(image);
                if (mapping is not null)
                {
                    mappings[Name(container)] = mapping;
                }

                var policy = container.Str("imagePullPolicy");
                var present = mapping is not null && (policy == "Never" || _kubelet.Images.Contains(image));
                if (policy != "Always" && present)
                {
                    _kubelet.Events.AlreadyPresent(_pod, Name(container), image);
                }
                else
                {
                    _kubelet.Events.Pulling(_pod, Name(container), image);
                    pulls[Name(container)] = _context.Time.GetTimestamp();
                }
            }

            if (attempt == 0 && await InterruptedAsync(_state.Options.ContainerCreationDelay, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var failed = new List<JsonObject>();
            foreach (var container in _containers.Where(c => pulls.ContainsKey(Name(c))))
            {
                var image = container.Str("image") ?? string.Empty;
                if (mappings.ContainsKey(Name(container)))
                {
                    _kubelet.Images.Add(image);
                    _kubelet.Events.Pulled(_pod, Name(container), image, _context.Time.GetElapsedTime(pulls[Name(container)]));
                }
                else
                {
                    _kubelet.Events.PullFailed(_pod, Name(container), image, PullError(image));
                    failed.Add(container);
                }
            }

            if (failed.Count == 0)
            {
                return mappings;
            }

            foreach (var container in failed)
            {
                _statuses[Name(container)] = Waiting(container, "ErrImagePull", PullError(container.Str("image") ?? string.Empty));
            }

            WriteStatus();
            if (await InterruptedAsync(backoff, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            foreach (var container in failed)
            {
                var image = container.Str("image") ?? string.Empty;
                _statuses[Name(container)] = Waiting(container, "ImagePullBackOff", $"Back-off pulling image \"{image}\": {PullError(image)}");
                _kubelet.Events.PullBackOff(_pod, Name(container), image);
            }

            WriteStatus();
            if (await InterruptedAsync(backoff, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
        }
    }

    /// <summary>
    /// A pod with a <c>subdomain</c> or <c>hostname</c> whose containers are local processes gets its own hostname and
    /// hosts file (<see cref="PodSandbox"/>). Where namespaces are not permitted, a pod with a subdomain fails to start
    /// with the reason in its container status (its peers could not resolve it); one with only a hostname keeps the
    /// plain launch (HOSTNAME set, the host's hostname and hosts file). False when the pod failed.
    /// </summary>
    private bool PrepareSandbox(Dictionary<string, ImageMapping> mappings)
    {
        var spec = _pod.ObjOrNull("spec");
        var wantsName = spec.Str("subdomain") is { Length: > 0 } || spec.Str("hostname") is { Length: > 0 };
        if (!wantsName || spec.Bool("hostNetwork") == true || mappings.Values.All(m => m.Simulation is not null))
        {
            return true;
        }

        if (PodSandbox.Unavailable(_state.Options.PodNamespaces) is { } reason)
        {
            if (spec.Str("subdomain") is not { Length: > 0 })
            {
                return true;
            }

            var now = Now();
            foreach (var container in _containers)
            {
                _statuses[Name(container)] = Terminated(container, 128, "StartError", now, now, reason);
                _kubelet.Events.Failed(_pod, Name(container), reason);
            }

            _phase = "Failed";
            WriteStatus();
            return false;
        }

        var directory = Path.Combine(_context.DataDirectory, "pods", Uid);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        _sandbox = new PodSandbox(ClusterDns.Hostname(_pod), Path.Combine(directory, "hosts"), PodSandbox.WriteHelper(_context.DataDirectory));
        RefreshHosts(_dnsRecords());
        return true;
    }

    /// <summary>Rewrites the pod's hosts file (in place) when the cluster DNS records it lists changed.</summary>
    public void RefreshHosts(IReadOnlyList<DnsRecord> records)
    {
        lock (_hostsGate)
        {
            if (_sandbox is null || _run?.IsCompleted == true)
            {
                return;
            }

            var content = ClusterDns.HostsFile(_pod, _podIp, records);
            if (content == _hostsContent)
            {
                return;
            }

            PodSandbox.WriteHostsFile(_sandbox.HostsFile, content);
            _hostsContent = content;
        }
    }

    private async Task<Dictionary<string, ContainerLaunch>?> PrepareLaunchesAsync(Dictionary<string, ImageMapping> mappings, CancellationToken cancellationToken)
    {
        while (true)
        {
            var launches = new Dictionary<string, ContainerLaunch>(StringComparer.Ordinal);
            var failed = false;
            var pod = CurrentPodForEnvironment();
            foreach (var container in _containers)
            {
                try
                {
                    launches[Name(container)] = BuildLaunch(pod, container, mappings[Name(container)]);
                }
                catch (VolumeMountException ex)
                {
                    // The kubelet keeps the pod in ContainerCreating and retries the mount (MountVolume.SetUp failed).
                    _statuses[Name(container)] = Waiting(container, "ContainerCreating", ex.Message);
                    failed = true;
                }
                catch (ContainerConfigException ex)
                {
                    _statuses[Name(container)] = Waiting(container, "CreateContainerConfigError", ex.Message);
                    _kubelet.Events.Failed(_pod, Name(container), ex.Message);
                    failed = true;
                }
            }

            if (!failed)
            {
                return launches;
            }

            WriteStatus();
            if (await InterruptedAsync(_state.Options.ImagePullBackoff, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
        }
    }

    private JsonObject CurrentPodForEnvironment()
    {
        var pod = _context.Store.Get(ResourceType.Pods, _ns, _name) ?? _pod;
        var status = pod.Obj("status");
        status["hostIP"] = _node.InternalIp;
        status["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = _node.InternalIp });
        status["podIP"] = _podIp;
        status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = _podIp });
        return pod;
    }

    private ContainerLaunch BuildLaunch(JsonObject pod, JsonObject container, ImageMapping mapping)
    {
        var volumes = VolumePaths.For(_context.DataDirectory, pod, container, name => _context.Store.Get(ResourceType.ConfigMaps, _ns, name));
        var variables = ContainerEnvironment.Resolve(
            pod, container, (kind, name) => _context.Store.Get(kind == "Secret" ? ResourceType.Secrets : ResourceType.ConfigMaps, _ns, name), _node);

        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var inherited in _state.Options.InheritedEnvironment)
        {
            if (Environment.GetEnvironmentVariable(inherited) is { } value)
            {
                environment[inherited] = value;
            }
        }

        environment["HOSTNAME"] = pod.ObjOrNull("spec").Str("hostname") ?? pod.Name();
        foreach (var (name, value) in variables)
        {
            environment[name] = volumes.Map(value);
        }

        var argv = container.Strings("command").Concat(container.Strings("args"))
            .Select(a => volumes.Map(ContainerEnvironment.Expand(a, variables)))
            .ToList();
        var full = mapping.BuildArgv(argv);
        if (mapping.Simulation is { } simulation)
        {
            // no process: the whole argv goes to the simulation, which needs no program to exist
            return new ContainerLaunch(string.Empty, full, volumes.WorkingDirectory(container.Str("workingDir")), environment) { Simulation = simulation };
        }

        if (full.Count == 0)
        {
            throw new ContainerConfigException("no command specified");
        }

        IReadOnlyList<string>? probe = null;
        if (container.ObjOrNull("readinessProbe").ObjOrNull("exec").Strings("command") is { Count: > 0 } probeArgv)
        {
            var mapped = probeArgv.Select(a => volumes.Map(ContainerEnvironment.Expand(a, variables))).ToList();
            probe = _sandbox is { } s ? s.Wrap(mapped[0], mapped.Skip(1)) : mapped;
        }

        return _sandbox is { } sandbox
            ? new ContainerLaunch(PodSandbox.Unshare, sandbox.Wrap(full[0], full.Skip(1)).Skip(1).ToList(), volumes.WorkingDirectory(container.Str("workingDir")), environment) { ProbeCommand = probe }
            : new ContainerLaunch(full[0], full.Skip(1).ToList(), volumes.WorkingDirectory(container.Str("workingDir")), environment) { ProbeCommand = probe };
    }

    private void StartContainers(Dictionary<string, ContainerLaunch> launches)
    {
        foreach (var container in _containers)
        {
            var name = Name(container);
            var log = new PodLogWriter(PodLogWriter.PathFor(_context.DataDirectory, _ns, _name, name), _context.Time);
            RunningContainer process;
            var launch = launches[name];
            _kubelet.Events.Created(_pod, name);
            try
            {
                process = launch.Simulation is { } simulation
                    ? StartSimulated(container, launch, simulation, log)
                    : ContainerProcess.Start(launch, log);
            }
            catch (System.ComponentModel.Win32Exception ex)
            {
                // the runtime could not start the entrypoint: StartError, exit code 128, as containerd reports it
                log.Dispose();
                var now = Now();
                var message = $"failed to create containerd task: exec: \"{launches[name].Program}\": {ex.Message}";
                _statuses[name] = Terminated(container, 128, "StartError", now, now, message);
                _kubelet.Events.Failed(_pod, name, message);
                continue;
            }

            _kubelet.Events.Started(_pod, name);

            _processes[name] = process;
            _state.Containers[WorkloadState.ContainerKey(_ns, _name, name)] = process;
            var status = BaseStatus(container);
            status["containerID"] = ContainerId(name);
            status["imageID"] = ImageId(container);
            status["ready"] = true;
            status["started"] = true;
            status["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Now() } };
            _statuses[name] = status;
            if (launch.Simulation is null && container.ObjOrNull("readinessProbe") is { } readinessProbe)
            {
                // not ready until the probe first succeeds
                status["ready"] = false;
                _probes.Add(Task.Run(() => ProbeLoopAsync(name, readinessProbe, container, launch, process, _stop.Token)));
            }
        }

        _phase = _processes.Count > 0 ? "Running" : "Failed";
        WriteStatus();
    }

    private SimulatedContainer StartSimulated(
        JsonObject container, ContainerLaunch launch, Func<SimulatedContainerStart, SimulatedRun> simulation, PodLogWriter log)
    {
        SimulatedRun run;
        try
        {
            run = simulation(new SimulatedContainerStart(container.Str("image") ?? string.Empty, launch.Arguments, launch.Environment));
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            // the image's "entrypoint" rejected its input: the container exits at once, as a program would
            run = new SimulatedRun(TimeSpan.Zero, 1) { Output = [ex.Message] };
        }

        return SimulatedContainer.Start(run, log, _context.Time);
    }

    private async Task SuperviseAsync(CancellationToken cancellationToken)
    {
        while (_processes.Count > 0)
        {
            var running = _processes.ToList();
            var probeChanged = _probeChanged.Task;
            var waits = running.Select(p => (Task)p.Value.Exited).Append(_deletionRequested.Task).Append(_abandoned.Task).Append(probeChanged).ToList();
            await Task.WhenAny(waits).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (probeChanged.IsCompleted)
            {
                Interlocked.Exchange(ref _probeChanged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                foreach (var (name, ready) in _probeReady)
                {
                    if (_processes.ContainsKey(name) && _statuses[name].Bool("ready") != ready)
                    {
                        _statuses[name]["ready"] = ready;
                    }
                }
            }

            if (_abandoned.Task.IsCompleted)
            {
                return;
            }

            if (_deletionRequested.Task.IsCompleted)
            {
                await StopAllAsync(cancellationToken).ConfigureAwait(false);
                await FinishInterruptedAsync(cancellationToken).ConfigureAwait(false);
                return;
            }

            foreach (var (name, process) in running.Where(p => p.Value.Exited.IsCompleted))
            {
                RecordExit(name, process);
            }

            UpdatePhase();
            WriteStatus();
        }
    }

    /// <summary>
    /// A readinessProbe (exec, tcpSocket or httpGet) run every <see cref="WorkloadOptions.ReadinessProbePeriod"/> while
    /// the container runs: ready after <c>successThreshold</c> successes in a row, unready again after
    /// <c>failureThreshold</c> failures in a row; each attempt is limited to <c>timeoutSeconds</c>.
    /// </summary>
    private async Task ProbeLoopAsync(string name, JsonObject probe, JsonObject container, ContainerLaunch launch, RunningContainer process, CancellationToken cancellationToken)
    {
        var successThreshold = Math.Max(1, probe.Int("successThreshold") ?? 1);
        var failureThreshold = Math.Max(1, probe.Int("failureThreshold") ?? 3);
        var timeout = TimeSpan.FromSeconds(Math.Max(1, probe.Int("timeoutSeconds") ?? 1));
        var ready = false;
        var successes = 0;
        var failures = 0;
        try
        {
            while (!process.Exited.IsCompleted)
            {
                if (await ProbeOnceAsync(probe, container, launch, timeout, cancellationToken).ConfigureAwait(false))
                {
                    failures = 0;
                    successes++;
                    if (!ready && successes >= successThreshold)
                    {
                        ready = true;
                        _probeReady[name] = true;
                        _probeChanged.TrySetResult();
                    }
                }
                else
                {
                    successes = 0;
                    failures++;
                    if (ready && failures >= failureThreshold)
                    {
                        ready = false;
                        _probeReady[name] = false;
                        _probeChanged.TrySetResult();
                    }
                }

                await Task.WhenAny(Task.Delay(_state.Options.ReadinessProbePeriod, _context.Time, cancellationToken), process.Exited).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException)
        {
            // the pod worker is stopping
        }
    }

    private async Task<bool> ProbeOnceAsync(JsonObject probe, JsonObject container, ContainerLaunch launch, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (launch.ProbeCommand is { } command)
        {
            return await ExecProbeAsync(command, launch, timeout, cancellationToken).ConfigureAwait(false);
        }

        var target = probe.ObjOrNull("tcpSocket") ?? probe.ObjOrNull("httpGet");
        if (target is null || ProbePort(target["port"], container) is not { } port)
        {
            return false;
        }

        var host = target.Str("host") is { Length: > 0 } h ? h : _podIp;
        if (probe.ObjOrNull("tcpSocket") is not null)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(host, port, cancellationToken).AsTask().WaitAsync(timeout, _context.Time, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException)
            {
                return false;
            }
        }

        var scheme = target.Str("scheme") is "HTTPS" ? "https" : "http";
        var path = target.Str("path") is { Length: > 0 } p ? p : "/";
        try
        {
            using var http = new HttpClient();
            using var response = await http.GetAsync(new Uri($"{scheme}://{host}:{port}{(path.StartsWith('/') ? path : "/" + path)}"), cancellationToken)
                .WaitAsync(timeout, _context.Time, cancellationToken).ConfigureAwait(false);
            return (int)response.StatusCode is >= 200 and < 400;
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException)
        {
            return false;
        }
    }

    private static int? ProbePort(JsonNode? port, JsonObject container)
    {
        if (KubeJson.AsLong(port) is { } number)
        {
            return (int)number;
        }

        var name = port is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        return container.ArrOrNull("ports").Objects().Where(p => p.Str("name") == name).Select(p => p.Int("containerPort")).FirstOrDefault();
    }

    private async Task<bool> ExecProbeAsync(IReadOnlyList<string> command, ContainerLaunch launch, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = launch.WorkingDirectory,
        };
        foreach (var argument in command.Skip(1))
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment.Clear();
        foreach (var (key, value) in launch.Environment)
        {
            startInfo.Environment[key] = value;
        }

        Process process;
        try
        {
            process = Process.Start(startInfo)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }

        using (process)
        {
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, _context.Time, cancellationToken).ConfigureAwait(false);
                await Task.WhenAll(output, error).ConfigureAwait(false);
                return process.ExitCode == 0;
            }
            catch (TimeoutException)
            {
                process.Kill(entireProcessTree: true);
                return false;
            }
        }
    }

    private async Task StopAllAsync(CancellationToken cancellationToken)
    {
        var grace = TimeSpan.FromSeconds(_pod.ObjOrNull("metadata").Long("deletionGracePeriodSeconds")
            ?? _pod.ObjOrNull("spec").Long("terminationGracePeriodSeconds") ?? 30);
        var running = _processes.ToList();
        foreach (var name in running.Where(p => !p.Value.Exited.IsCompleted).Select(p => p.Key))
        {
            _kubelet.Events.Killing(_pod, name);
        }

        await Task.WhenAll(running.Select(p => p.Value.StopAsync(grace, cancellationToken))).ConfigureAwait(false);
        foreach (var (name, process) in running)
        {
            RecordExit(name, process);
        }

        UpdatePhase();
        WriteStatus();
    }

    private void RecordExit(string name, RunningContainer process)
    {
        var container = _containers.First(c => Name(c) == name);
        var exitCode = process.Exited.Result;
        var startedAt = _statuses[name].ObjOrNull("state").ObjOrNull("running").Str("startedAt") ?? Now();
        var reason = process.OomKilled ? "OOMKilled" : exitCode == 0 ? "Completed" : "Error";
        if (process.OomKilled)
        {
            exitCode = 137;
        }

        _statuses[name] = Terminated(container, exitCode, reason, startedAt, Now(), null);
        _processes.Remove(name);
        _state.Containers.TryRemove(WorkloadState.ContainerKey(_ns, _name, name), out _);
        _ = process.DisposeAsync().AsTask();
    }

    private void UpdatePhase()
    {
        if (_processes.Count > 0)
        {
            return;
        }

        var allSucceeded = _statuses.Values.All(s => s.ObjOrNull("state").ObjOrNull("terminated").Long("exitCode") == 0);
        _phase = allSucceeded ? "Succeeded" : "Failed";
    }

    /// <summary>Deletion (or abandonment) before or after the containers ran: report and finalise the deletion.</summary>
    private Task FinishInterruptedAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_abandoned.Task.IsCompleted || !_deletionRequested.Task.IsCompleted)
        {
            return Task.CompletedTask;
        }

        if (_phase is "Pending" or "Running" && _processes.Count == 0 && _statuses.Values.Any(s => s.ObjOrNull("state")?["waiting"] is not null))
        {
            // containers that never started: the kubelet reports the pod Failed when it is deleted before running
            _phase = "Failed";
            WriteStatus();
        }

        try
        {
            _context.Store.FinalizeDelete(ResourceType.Pods, _ns, _name);
        }
        catch (StoreException ex) when (ex.Code == 404)
        {
            // already removed
        }

        return Task.CompletedTask;
    }

    /// <summary>Waits <paramref name="delay"/>; true when deletion or abandonment came first.</summary>
    private async Task<bool> InterruptedAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        var delayTask = Task.Delay(delay, _context.Time, cancellationToken);
        await Task.WhenAny(delayTask, _deletionRequested.Task, _abandoned.Task).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return _deletionRequested.Task.IsCompleted || _abandoned.Task.IsCompleted;
    }

    private void WriteStatus()
    {
        var now = Now();
        var containerStatuses = new JsonArray(_containers.Select(c => (JsonNode?)_statuses[Name(c)].DeepClone()).ToArray());
        var notReady = _containers.Where(c => _statuses[Name(c)].Bool("ready") != true).Select(Name).ToList();
        var phase = _phase;
        _context.Store.Update(ResourceType.Pods, _ns, _name, current =>
        {
            if (current.Uid() != Uid)
            {
                return current;
            }

            var status = current.Obj("status");
            status["phase"] = phase;
            status["hostIP"] = _node.InternalIp;
            status["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = _node.InternalIp });
            if (phase != "Pending" || _processes.Count > 0)
            {
                status["podIP"] = _podIp;
                status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = _podIp });
            }

            status["startTime"] = _startTime;
            var terminal = phase is "Succeeded" or "Failed";
            PodConditions.Set(status, "PodReadyToStartContainers", terminal ? "False" : "True", null, null, now);
            PodConditions.Set(status, "Initialized", "True", null, null, now);
            if (terminal)
            {
                var reason = phase == "Succeeded" ? "PodCompleted" : "PodFailed";
                PodConditions.Set(status, "Ready", "False", reason, null, now);
                PodConditions.Set(status, "ContainersReady", "False", reason, null, now);
            }
            else if (notReady.Count > 0)
            {
                var message = $"containers with unready status: [{string.Join(' ', notReady)}]";
                PodConditions.Set(status, "Ready", "False", "ContainersNotReady", message, now);
                PodConditions.Set(status, "ContainersReady", "False", "ContainersNotReady", message, now);
            }
            else
            {
                PodConditions.Set(status, "Ready", "True", null, null, now);
                PodConditions.Set(status, "ContainersReady", "True", null, null, now);
            }

            OrderConditions(status);
            status["containerStatuses"] = containerStatuses.DeepClone();
            return current;
        });
    }

    private static void OrderConditions(JsonObject status)
    {
        if (status["conditions"] is not JsonArray conditions)
        {
            return;
        }

        string[] order = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"];
        var sorted = conditions.Objects()
            .OrderBy(c => Array.IndexOf(order, c.Str("type")) is var i && i < 0 ? -1 : i)
            .Select(c => (JsonNode?)c.DeepClone())
            .ToArray();
        status["conditions"] = new JsonArray(sorted);
    }

    private JsonObject BaseStatus(JsonObject container)
    {
        var image = container.Str("image") ?? string.Empty;
        return new JsonObject
        {
            ["name"] = Name(container),
            ["state"] = new JsonObject(),
            ["lastState"] = new JsonObject(),
            ["ready"] = false,
            ["restartCount"] = 0,
            ["image"] = image,
            ["imageID"] = string.Empty,
            ["started"] = false,
        };
    }

    private JsonObject Waiting(JsonObject container, string reason, string? message)
    {
        var status = BaseStatus(container);
        var waiting = new JsonObject { ["reason"] = reason };
        if (message is not null)
        {
            waiting["message"] = message;
        }

        status["state"] = new JsonObject { ["waiting"] = waiting };
        return status;
    }

    private JsonObject Terminated(JsonObject container, int exitCode, string reason, string startedAt, string finishedAt, string? message)
    {
        var status = BaseStatus(container);
        var name = Name(container);
        status["imageID"] = ImageId(container);
        status["containerID"] = ContainerId(name);
        var terminated = new JsonObject
        {
            ["exitCode"] = exitCode,
            ["reason"] = reason,
            ["startedAt"] = startedAt,
            ["finishedAt"] = finishedAt,
            ["containerID"] = ContainerId(name),
        };
        if (message is not null)
        {
            terminated["message"] = message;
        }

        status["state"] = new JsonObject { ["terminated"] = terminated };
        return status;
    }

    private static string ImageId(JsonObject container)
    {
        var image = FullyQualified(container.Str("image") ?? string.Empty);
        var tag = image.LastIndexOf(':');
        var repository = tag > image.LastIndexOf('/') ? image[..tag] : image;
        return $"{repository}@sha256:{Sha256(image)}";
    }

    private string ContainerId(string containerName) => "containerd://" + Sha256($"{Uid}/{containerName}");

    private static string PullError(string image)
    {
        var reference = FullyQualified(image);
        return $"rpc error: code = NotFound desc = failed to pull and unpack image \"{reference}\": failed to resolve reference \"{reference}\": {reference}: not found";
    }

    /// <summary>What containerd calls the image: registry and tag made explicit (docker.io/library/x:latest).</summary>
    internal static string FullyQualified(string image)
    {
        var slash = image.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? string.Empty : image[..slash];
        var hasRegistry = slash >= 0 && (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost");
        var reference = hasRegistry ? image : slash < 0 ? "docker.io/library/" + image : "docker.io/" + image;
        var lastSegment = reference[(reference.LastIndexOf('/') + 1)..];
        return lastSegment.Contains(':', StringComparison.Ordinal) || lastSegment.Contains('@', StringComparison.Ordinal) ? reference : reference + ":latest";
    }

    private static string Sha256(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private string Now() => KubeJson.Timestamp(_context.Time.GetUtcNow());

    private static string Name(JsonObject container) => container.Str("name") ?? string.Empty;

    /// <summary>
    /// The pod's address: <c>127.&lt;block&gt;.x.y</c>, a loopback address of its own (all of 127.0.0.0/8 reaches this
    /// host on Linux), so a pod can bind its podIP and peers can connect to it. <paramref name="block"/> is chosen per
    /// cluster so two clusters on one machine rarely hand out the same address.
    /// </summary>
    internal static string PodIpFor(int block, int ordinal) =>
        string.Format(CultureInfo.InvariantCulture, "127.{0}.{1}.{2}", block, (ordinal / 250) % 256, (ordinal % 250) + 2);
}
