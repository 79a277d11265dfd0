"""A real feedserver process on a real port, for tests that kill and restart it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import yaml


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`feedserver serve` in a child process, started and SIGKILLed on demand."""

    def __init__(self, config: dict, workdir: Path,
                 launcher: tuple[str, ...] = (sys.executable, "-m", "feedserver")) -> None:
        self.launcher = launcher  # what runs `feedserver` (a wrapper may restrict it first)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / "feedserver.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.log_path = workdir / "server.log"
        self.process: subprocess.Popen | None = None

    async def start(self, timeout: float = 60) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*self.launcher, "serve", "--config", str(self.config_path),
             "--listen", f"127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True)
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited: {self.log_path.read_text()}")
                try:
                    async with session.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("server did not become healthy")
                await asyncio.sleep(0.05)

    def signal(self, signum: int) -> None:
        """A signal to the server process alone (as systemd's `kill -TERM $MAINPID`)."""
        assert self.process is not None
        self.process.send_signal(signum)

    async def exit_code(self, timeout: float) -> int:
        """Wait (the event loop running on) for the server to exit by itself; its exit code."""
        assert self.process is not None
        return await asyncio.to_thread(self.process.wait, timeout)

    def kill(self) -> None:
        """SIGKILL to the server and its pool workers: no shutdown handlers, no flushing."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def feedserver_command(*args: str) -> subprocess.CompletedProcess:
    """`feedserver ARGS` as an operator runs it on the host: its exit code and output."""
    return subprocess.run([sys.executable, "-m", "feedserver", *args], capture_output=True,
                          text=True, timeout=120)


def written_config(data: dict, path: Path) -> str:
    """`data` as a config file at `path`, for a command's `--config`."""
    path.write_text(yaml.safe_dump(data))
    return str(path)
