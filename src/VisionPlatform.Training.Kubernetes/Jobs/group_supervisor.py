# VisionPlatform group supervisor: runs in front of torchrun in every pod of a torchrun group of more than one node,
# so that the disruption of ANY pod (SIGTERM: eviction, drain, preemption) restarts the WHOLE group:
#   - a peer (node rank k > 0) that gets SIGTERM tells rank 0 (TERM), waits for its ACK, then forwards SIGTERM;
#   - rank 0, told by a peer or getting SIGTERM itself, tells every other peer (RESTART) and waits for their ACKs;
#   - a supervisor told to restart SIGTERMs its torchrun (the workers write their SIGTERM checkpoint) and exits 75,
#     which the Job's podFailurePolicy ignores: the Job controller replaces every pod, and the new group resumes from
#     the run's newest checkpoint. A supervisor that got SIGTERM itself exits with torchrun's code (DisruptionTarget).
# Otherwise torchrun's own exit code is the pod's (signal N: 128 + N), so real failures still fail the Job at once.
# A peer connects to rank 0 before it starts torchrun, and rank 0 stops listening once every peer is connected or the
# group restarts: a replacement pod cannot reach a group being torn down, and waits for the new rank 0.
# Usage: python -c <this program> -- <torchrun command...>. Standard library only; the values come from the environment:
# PET_NODE_RANK, PET_NNODES, PET_MASTER_ADDR (torchrun's), VP_GROUP_CONTROL_PORT, VP_GROUP_STOP_SECONDS.
import os
import select
import signal
import socket
import subprocess
import sys
import time

RESTART_EXIT = 75  # EX_TEMPFAIL: "the group restarts"; the Job's podFailurePolicy ignores it
BAD_INPUT_EXIT = 2
MAX_MESSAGE = 32  # control messages are a few bytes; a longer line closes the connection
CONNECT_TIMEOUT = 900.0  # how long a peer waits for rank 0's supervisor (torch's default rendezvous timeout)


def log(message):
    print(f"group supervisor (node {RANK}): {message}", file=sys.stderr, flush=True)


def setting(name, parse):
    try:
        return parse(os.environ[name])
    except (KeyError, ValueError):
        print(f"group supervisor: error: environment variable {name} is missing or invalid", file=sys.stderr, flush=True)
        sys.exit(BAD_INPUT_EXIT)


RANK = setting("PET_NODE_RANK", int)
NODES = setting("PET_NNODES", int)
MASTER = setting("PET_MASTER_ADDR", str)
PORT = setting("VP_GROUP_CONTROL_PORT", int)
STOP_SECONDS = setting("VP_GROUP_STOP_SECONDS", float)  # SIGTERM to torchrun, then SIGKILL (below the grace period)
NOTICE_SECONDS = min(2.0, STOP_SECONDS / 4)  # how long a notice waits for its acknowledgements

# Signals set a flag and wake select() through the wakeup socket (SIGCHLD too: torchrun's exit is an event).
wake_r, wake_w = socket.socketpair()
wake_r.setblocking(False)
wake_w.setblocking(False)
signal.set_wakeup_fd(wake_w.fileno())
terminated = False


def on_sigterm(_signum, _frame):
    global terminated
    terminated = True


signal.signal(signal.SIGTERM, on_sigterm)
signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)


class Channel:
    """One control connection: newline-terminated ASCII tokens, each at most MAX_MESSAGE bytes."""

    def __init__(self, sock):
        self.sock, self.buffer, self.closed, self.hello = sock, b"", False, False
        sock.settimeout(NOTICE_SECONDS)  # bounds a send; reads happen only when select() says data is there

    def send(self, token):
        try:
            self.sock.sendall(token.encode("ascii") + b"\n")
        except OSError:
            self.close()

    def read(self):
        """The tokens that arrived (one recv: call it when the socket is readable)."""
        try:
            data = self.sock.recv(MAX_MESSAGE)
        except OSError:
            data = b""
        if not data:
            self.close()
            return []
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        if len(self.buffer) > MAX_MESSAGE:
            self.close()
        return [line.decode("ascii", "replace") for line in lines]

    def close(self):
        if not self.closed:
            self.closed = True
            self.sock.close()


def wait_readable(sockets, timeout):
    """The sockets that are readable within timeout seconds (an interrupted wait returns what is ready)."""
    sockets = [s for s in sockets if s.fileno() >= 0]
    readable, _, _ = select.select(sockets + [wake_r], [], [], max(0.0, timeout))
    if wake_r in readable:
        try:
            while wake_r.recv(64):
                pass
        except BlockingIOError:
            pass
    return [s for s in readable if s is not wake_r]


def exit_code(returncode):
    return 128 - returncode if returncode < 0 else returncode


def stop(child):
    """SIGTERM to torchrun's process group (torchrun and its workers); SIGKILL after STOP_SECONDS. Its exit code."""
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log(f"torchrun still running {STOP_SECONDS:g} s after SIGTERM: SIGKILL")
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    return exit_code(child.returncode)


def await_tokens(channels, wanted):
    """Reads until every open channel sent one of the wanted tokens, it closes, or NOTICE_SECONDS pass."""
    waiting = [c for c in channels if not c.closed]
    deadline = time.monotonic() + NOTICE_SECONDS
    while waiting and time.monotonic() < deadline:
        for sock in wait_readable([c.sock for c in waiting], deadline - time.monotonic()):
            channel = next(c for c in waiting if c.sock is sock)
            if any(t in wanted for t in channel.read()) or channel.closed:
                waiting.remove(channel)


children = []


def start(command):
    # Its own process group: a signal to this pod's main process reaches the supervisor first, which decides what
    # torchrun gets, and stop() can signal torchrun and its workers together.
    children.append(subprocess.Popen(command, start_new_session=True))
    return children[-1]


def supervise_rank0(command):
    try:
        listener = socket.create_server(("", PORT), family=socket.AF_INET6, dualstack_ipv6=True) \
            if socket.has_dualstack_ipv6() else socket.create_server(("", PORT))
    except OSError as e:
        log(f"error: cannot listen on the group control port {PORT}: {e}")
        return 1
    child = start(command)
    peers = []
    restart = False

    def restart_group(reason, told_by=None):
        nonlocal restart, listener
        if listener is not None:
            listener.close()  # a replacement pod must wait for the next rank 0, not join this group
            listener = None
        if not restart:
            restart = True
            log(f"{reason}: the whole group restarts (every pod told exits {RESTART_EXIT})")
        others = [p for p in peers if p is not told_by]
        for peer in others:
            peer.send("RESTART")
        await_tokens(others, {"ACK"})

    while True:
        sockets = [p.sock for p in peers if not p.closed] + ([listener] if listener is not None else [])
        for sock in wait_readable(sockets, 1.0):
            if sock is listener:
                try:
                    connection, _ = listener.accept()
                except OSError:
                    continue
                if sum(1 for p in peers if not p.closed and not p.hello) >= NODES:
                    connection.close()  # bounded: connections that have not said HELLO yet
                    continue
                peers.append(Channel(connection))
                continue
            peer = next(p for p in peers if p.sock is sock)
            for token in peer.read():
                if token == "TERM":
                    peer.send("ACK")
                    restart_group("a peer's pod was disrupted (SIGTERM)", told_by=peer)
                    stop(child)
                    return RESTART_EXIT
                if token.startswith("HELLO ") and not peer.hello:
                    peer.hello = True
                    log(f"node {token[6:MAX_MESSAGE]} connected")
            if listener is not None and sum(1 for p in peers if p.hello) == NODES - 1:
                listener.close()  # every peer is connected (only a peer's HELLO counts, not any connection)
                listener = None
        if terminated:
            restart_group("this pod was disrupted (SIGTERM)")
            return stop(child)
        if child.poll() is not None:
            # Drain what already arrived, without blocking: a TERM that came with torchrun's exit still restarts.
            for sock in wait_readable([p.sock for p in peers if not p.closed], 0):
                peer = next(p for p in peers if p.sock is sock)
                if "TERM" in peer.read():
                    peer.send("ACK")
                    restart_group("a peer's pod was disrupted (SIGTERM)", told_by=peer)
            return RESTART_EXIT if restart else exit_code(child.returncode)


def connect():
    """The connection to rank 0's supervisor, retried until it answers; None after SIGTERM or CONNECT_TIMEOUT."""
    deadline = time.monotonic() + CONNECT_TIMEOUT
    attempts = 0
    while not terminated and time.monotonic() < deadline:
        try:
            return Channel(socket.create_connection((MASTER, PORT), timeout=2.0))
        except OSError:
            # The name may not resolve yet, or rank 0's supervisor not listen yet (its pod is being replaced).
            attempts += 1
            if attempts == 1:
                log(f"waiting for rank 0's supervisor at {MASTER}:{PORT} before starting torchrun")
            wait_readable([], 0.5)
    return None


def supervise_peer(command):
    channel = connect()
    if channel is None:
        if terminated:
            return 128 + signal.SIGTERM
        log(f"rank 0's supervisor at {MASTER}:{PORT} did not answer within {CONNECT_TIMEOUT:g} s")
        return 1
    channel.send(f"HELLO {RANK}")
    child = start(command)
    while True:
        tokens = channel.read() if not channel.closed and wait_readable([channel.sock], 1.0) else []
        if channel.closed:
            wait_readable([], 1.0)  # rank 0 is gone: torchrun's own outcome decides
        if "RESTART" in tokens:
            channel.send("ACK")
            log(f"rank 0 restarts the whole group (exit code {RESTART_EXIT})")
            stop(child)
            return RESTART_EXIT
        if terminated:
            log("this pod was disrupted (SIGTERM): telling rank 0, which restarts the whole group")
            channel.send("TERM")
            await_tokens([channel], {"ACK", "RESTART"})
            return stop(child)
        if child.poll() is not None:
            if not channel.closed and wait_readable([channel.sock], 0) and "RESTART" in channel.read():
                channel.send("ACK")
                return RESTART_EXIT
            return exit_code(child.returncode)


def main(argv):
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print("group supervisor: usage: python -c <program> -- <torchrun command...>", file=sys.stderr, flush=True)
        return BAD_INPUT_EXIT
    return supervise_rank0(command) if RANK == 0 else supervise_peer(command)


try:
    code = main(sys.argv[1:])
finally:
    for leftover in children:
        if leftover.poll() is None:  # only after an unexpected error: never leave torchrun behind
            os.killpg(leftover.pid, signal.SIGKILL)
            leftover.wait()
sys.exit(code)
