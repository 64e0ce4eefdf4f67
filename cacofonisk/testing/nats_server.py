"""Real ``nats-server -js`` processes on free loopback ports, for tests and bench/nats.py.

Why real servers: JetStream's de-duplication, durable consumers and
cluster fail-over are what delivery relies on; a mock would test our
assumptions about them, not them. Every process is started with its own
store directory and stopped (SIGTERM, then SIGKILL) by ``stop()``.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import attrs

#: why a test that needs NATS is skipped
MISSING = ("nats-server is not installed: run scripts/install-system-deps.sh "
           "(Debian package nats-server) to test durable delivery")


def binary() -> str | None:
    """Path of nats-server, or None."""
    return shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nats-server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nats-server did not listen on {port} within {timeout} s")


@attrs.define(eq=False)
class NatsNode:
    """One nats-server process (maybe a cluster member); restartable on its ports."""

    store: Path
    port: int = attrs.field(factory=free_port)
    cluster_port: int | None = None
    routes: list[int] = attrs.field(factory=list)
    name: str = "n1"
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The client URL."""
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsNode:
        """Start (again) with the same ports and store; wait until it listens."""
        exe = binary()
        if exe is None:
            raise RuntimeError(MISSING)
        args = [exe, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store),
                "-n", self.name]
        if self.cluster_port is not None:
            args += ["--cluster_name", "cacofonisk-test",
                     "-cluster", f"nats://127.0.0.1:{self.cluster_port}",
                     "-routes", ",".join(f"nats://127.0.0.1:{p}" for p in self.routes)]
        self.store.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        _wait_listening(self.port, self.process)
        return self

    def stop(self, kill: bool = False) -> None:
        """Stop the process (SIGKILL with ``kill``: a crash)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def single(store: Path) -> NatsNode:
    """One JetStream server, started."""
    return NatsNode(store / "n1").start()


def cluster(store: Path, size: int = 3) -> list[NatsNode]:
    """A JetStream cluster of ``size`` nodes on loopback, started."""
    cluster_ports = [free_port() for _ in range(size)]
    nodes = [NatsNode(store / f"n{i + 1}", cluster_port=cluster_ports[i],
                      routes=[p for j, p in enumerate(cluster_ports) if j != i],
                      name=f"n{i + 1}") for i in range(size)]
    for node in nodes:
        node.start()
    return nodes
