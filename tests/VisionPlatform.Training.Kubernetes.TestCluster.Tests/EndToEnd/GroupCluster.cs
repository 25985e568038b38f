using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.EndToEnd;

/// <summary>Builders for multi-pod groups: an Indexed Job whose pods run a local program, and its headless Service.</summary>
internal static class GroupCluster
{
    public const string PythonImage = "python:3.11";
    public const string Python = "/usr/bin/python3";

    /// <summary>
    /// A peer handshake every pod runs: listen on its own pod IP, resolve each peer's
    /// <c>&lt;job&gt;-&lt;i&gt;.&lt;service&gt;</c> name (retrying, as clients of cluster DNS do), connect to it and wait
    /// until every peer connected back. Prints its hostname, FQDN, own address and what each peer name resolved to.
    /// </summary>
    public const string HandshakeScript = """
        import os, socket, sys, threading, time
        index = int(os.environ["JOB_COMPLETION_INDEX"])
        count = int(os.environ["GROUP_SIZE"])
        port = int(os.environ["GROUP_PORT"])
        job, service = os.environ["GROUP_JOB"], os.environ["GROUP_SERVICE"]
        me = socket.gethostbyname(socket.gethostname())
        server = socket.socket()
        server.bind((me, port))
        server.listen(count)
        accepted = []
        def accept():
            while len(accepted) < count - 1:
                conn, _ = server.accept()
                accepted.append(conn.recv(64).decode())
        threading.Thread(target=accept, daemon=True).start()
        peers = [f"{job}-{i}.{service}" for i in range(count) if i != index]
        if os.environ.get("GROUP_EXPECT_UNRESOLVED"):
            for name in peers:
                try:
                    socket.getaddrinfo(name, port, socket.AF_INET)
                    print(f"resolvable-too-early {name}", flush=True)
                except socket.gaierror:
                    print(f"not-yet-resolvable {name}", flush=True)
        resolved = {}
        deadline = time.monotonic() + 120
        for name in peers:
            while True:
                try:
                    address = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
                    with socket.create_connection((address, port), timeout=5) as c:
                        c.sendall(str(index).encode())
                    resolved[name] = address
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        print(f"unresolved {name}", flush=True)
                        sys.exit(3)
                    time.sleep(0.05)
        while len(accepted) < count - 1:
            if time.monotonic() > deadline:
                print("peers never connected", flush=True)
                sys.exit(4)
            time.sleep(0.05)
        print(f"host={socket.gethostname()} fqdn={socket.getfqdn()} me={me} " + " ".join(f"{k}={v}" for k, v in sorted(resolved.items())), flush=True)
        finish = os.environ.get("GROUP_FINISH_FILE")
        while finish and not os.path.exists(finish):
            time.sleep(0.05)
        """;

    /// <summary>A tiny DDP program: all_reduce of rank+1 over gloo, three steps of a DDP model, one line per rank.</summary>
    public const string DdpScript = """
        import os, socket
        import torch
        import torch.distributed as dist
        dist.init_process_group("gloo")
        total = torch.tensor([float(dist.get_rank() + 1)])
        dist.all_reduce(total)
        model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(3):
            optimizer.zero_grad()
            model(torch.ones(8, 4)).sum().backward()
            optimizer.step()
        print(f"rank={dist.get_rank()} world={dist.get_world_size()} sum={total.item():.0f} master={os.environ['MASTER_ADDR']} host={socket.gethostname()}", flush=True)
        dist.destroy_process_group()
        """;

    /// <summary>A free TCP port on the loopback (tests give each group its own port: pods share the host's ports).</summary>
    public static int FreePort() => VisionPlatform.Training.TestSupport.TestPorts.Reserve();

    public static V1Service HeadlessService(string name, string jobName, bool publishNotReadyAddresses) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1ServiceSpec
        {
            ClusterIP = "None",
            Selector = new Dictionary<string, string> { ["batch.kubernetes.io/job-name"] = jobName },
            PublishNotReadyAddresses = publishNotReadyAddresses,
        },
    };

    /// <summary>An Indexed Job of <paramref name="size"/> pods (completions = parallelism) with the given subdomain.</summary>
    public static V1Job IndexedJob(string name, int size, string? subdomain, IList<string> command, IDictionary<string, string>? env = null, Action<V1JobSpec>? configure = null)
    {
        var spec = new V1JobSpec
        {
            CompletionMode = "Indexed",
            Completions = size,
            Parallelism = size,
            BackoffLimit = 0,
            Template = new V1PodTemplateSpec
            {
                Spec = new V1PodSpec
                {
                    RestartPolicy = "Never",
                    TerminationGracePeriodSeconds = 5,
                    Subdomain = subdomain,
                    Containers =
                    [
                        new V1Container
                        {
                            Name = "trainer",
                            Image = PythonImage,
                            Command = command,
                            Env = (env ?? new Dictionary<string, string>()).Select(e => new V1EnvVar { Name = e.Key, Value = e.Value }).ToList(),
                        },
                    ],
                },
            },
        };
        configure?.Invoke(spec);
        return new V1Job { Metadata = new V1ObjectMeta { Name = name }, Spec = spec };
    }

    public static Dictionary<string, string> HandshakeEnv(string job, string service, int size, int port) => new()
    {
        ["GROUP_JOB"] = job,
        ["GROUP_SERVICE"] = service,
        ["GROUP_SIZE"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["GROUP_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
