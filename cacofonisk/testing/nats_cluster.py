"""Real ``nats-server -js`` processes and a TCP proxy, for tests and benchmarks.

Why real processes: leases, expiry, a node's death and a cut connection only
behave like production on the real server (Debian's nats-server 2.9). The
nodes listen on free loopback ports, keep their JetStream data in a
directory the caller owns, and are stopped by ``stop()`` (or the context
manager). ``no_advertise`` keeps the nodes from telling clients about the
other nodes, so a client given only a proxy's address cannot route around
it: that is how a test cuts one worker off from NATS alone (the plain
nodes of ``nats_server.cluster`` advertise each other). A config file per
node, as production runs it.
"""
from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from .nats_server import binary, free_port


def nats_server_binary() -> str | None:
    """The nats-server executable, or None when it is not installed."""
    return binary()


class NatsCluster:
    """``size`` JetStream nodes routed to each other (one node: no cluster block).

    Args:
        directory: where configs, logs and JetStream data go.
        size: number of nodes (1 or 3 in our tests).
    """

    def __init__(self, directory: Path, size: int = 3) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.size = size
        self.ports = [free_port() for _ in range(size)]
        self.routes = [free_port() for _ in range(size)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * size

    @property
    def urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{p}" for p in self.ports]

    def _config(self, i: int) -> Path:
        store = self.directory / f"n{i}"
        store.mkdir(parents=True, exist_ok=True)
        lines = [f"server_name: n{i}", "host: 127.0.0.1", f"port: {self.ports[i]}",
                 f'jetstream {{ store_dir: "{store}", max_mem: 64MB, max_file: 512MB }}']
        if self.size > 1:
            routes = ", ".join(f"nats-route://127.0.0.1:{p}" for j, p in
                               enumerate(self.routes) if j != i)
            lines.append(f"cluster {{ name: cacofonisk, host: 127.0.0.1, "
                         f"port: {self.routes[i]}, no_advertise: true, routes: [{routes}] }}")
        path = self.directory / f"n{i}.conf"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def start(self, i: int | None = None) -> None:
        """Start every node, or node ``i`` again."""
        binary = nats_server_binary()
        if binary is None:
            raise RuntimeError("nats-server is not installed (scripts/install-system-deps.sh)")
        for j in range(self.size) if i is None else [i]:
            log = open(self.directory / f"n{j}.log", "ab")  # noqa: SIM115 - closed by the process
            self.procs[j] = subprocess.Popen([binary, "-c", str(self._config(j))],
                                             stdout=log, stderr=log)
            log.close()

    def kill(self, i: int) -> None:
        """kill -9 node ``i``."""
        proc = self.procs[i]
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL after 5 s)."""
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def wait_ready(self, replicas: int | None = None, timeout: float = 20.0) -> None:
        """Wait until JetStream takes a stream with ``replicas`` (default: size)."""
        asyncio.run(_wait_jetstream(self.urls, replicas or self.size, timeout))

    def __enter__(self) -> NatsCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _wait_jetstream(urls: list[str], replicas: int, timeout: float) -> None:
    import nats

    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            nc = await nats.connect(servers=urls, connect_timeout=1,
                                    max_reconnect_attempts=1)
            try:
                js = nc.jetstream(timeout=2)
                await js.add_stream(name="READY_PROBE", subjects=["ready.probe"],
                                    num_replicas=replicas)
                await js.delete_stream("READY_PROBE")
                return
            finally:
                await nc.close()
        except Exception as err:  # not elected yet
            last = err
            await asyncio.sleep(0.2)
    raise RuntimeError(f"JetStream not ready after {timeout:g} s: {last!r}")


class TcpProxy:
    """A loopback TCP proxy that can cut every connection through it.

    ``cut()`` closes the open connections and closes every new one at once
    (a network partition between one client and NATS); ``restore()`` lets
    connections through again. Runs its own event loop in a thread.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Any = None

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                             return_exceptions=True)
        self._writers -= {writer, up_writer}

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self._cut:
                    break
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()

    def cut(self) -> None:
        """Drop every connection and refuse new ones until ``restore()``."""
        def _do() -> None:
            self._cut = True
            for writer in list(self._writers):
                writer.transport.abort()
        self._loop.call_soon_threadsafe(_do)

    def restore(self) -> None:
        def _do() -> None:
            self._cut = False
        self._loop.call_soon_threadsafe(_do)

    def stop(self) -> None:
        async def _close() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


__all__ = ["NatsCluster", "TcpProxy", "free_port", "nats_server_binary"]
