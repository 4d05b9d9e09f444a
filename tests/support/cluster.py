"""Two `python -m bot run` processes in webhook mode behind Debian's haproxy (round robin), on one
PostgreSQL database and one Redis, with the fake Bot API delivering webhook updates through the
proxy. For tests/e2e/test_two_instances.py and bench/bench_cluster.py.

    async with Cluster.start(pg_url, redis_url) as cluster:
        tg = cluster.tg          # bot.fakeapi.FakeTelegram
        cluster.kill(1)          # SIGKILL one instance; haproxy sends everything to the other
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.fakeapi import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:CLUSTER-test-token"
HAPROXY_CFG = """global
    maxconn 256
    stats socket {stats}
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch 1
backend thidua
    balance roundrobin
{servers}
frontend webhook
    bind 127.0.0.1:{port}
    default_backend thidua
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def haproxy_path() -> str | None:
    return shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if os.path.exists(p)), None)


@dataclass
class Cluster:
    tg: FakeTelegram
    db_url: str
    redis_url: str
    folder: Path
    proxy_port: int
    ports: list[int]
    procs: list[subprocess.Popen | None] = field(default_factory=list)
    proxy: subprocess.Popen | None = None
    vault_key: str = field(default_factory=lambda: secrets.token_hex(32))

    def env(self, port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "ZALO_", "WEBHOOK_"))}
        env.update(PYTHONPATH=str(ROOT), BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=self.tg.base_url,
                   DATABASE_URL=self.db_url, REDIS_URL=self.redis_url, VAULT_KEY=self.vault_key, MODE="webhook",
                   WEBHOOK_BASE_URL=f"http://127.0.0.1:{self.proxy_port}", WEBHOOK_SECRET="cluster-secret-0123456789",
                   WEBHOOK_HOST="127.0.0.1", WEBHOOK_PORT=str(port), LOG_LEVEL="WARNING")
        return env

    def spawn(self, i: int) -> None:
        log = (self.folder / f"bot{i}.log").open("ab")
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=self.env(self.ports[i]),
                                stdout=log, stderr=subprocess.STDOUT)
        if i < len(self.procs):
            self.procs[i] = proc
        else:
            self.procs.append(proc)

    def kill(self, i: int) -> None:
        proc = self.procs[i]
        if proc is not None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            self.procs[i] = None

    def served(self) -> dict[str, int]:
        """Requests haproxy sent to each instance so far (its `show stat`, column stot)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.folder / "stats.sock"))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {r["svname"]: int(r["stot"] or 0) for r in rows if r.get("pxname") == "thidua"
                and r["svname"] not in ("BACKEND", "FRONTEND")}

    def log(self, i: int) -> str:
        return (self.folder / f"bot{i}.log").read_text(errors="replace")

    async def wait_serving(self, i: int, timeout: float = 60) -> None:
        """Until instance i accepts connections on its webhook port."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            proc = self.procs[i]
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"instance {i} exited: {self.log(i)[-2000:]}")
            try:
                _r, w = await asyncio.open_connection("127.0.0.1", self.ports[i])
                w.close()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise TimeoutError(f"instance {i} not serving: {self.log(i)[-2000:]}")

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, db_url: str, redis_url: str, instances: int = 2) -> AsyncIterator[Cluster]:
        haproxy = haproxy_path()
        if haproxy is None:
            raise RuntimeError("haproxy is not installed (scripts/test.sh installs Debian's)")
        folder = Path(tempfile.mkdtemp(prefix="thidua-cluster-"))
        async with FakeTelegram(token=TOKEN) as tg:
            tg.webhook_attempts = 6
            cluster = cls(tg, db_url, redis_url, folder, free_port(), [free_port() for _ in range(instances)])
            servers = "\n".join(f"    server bot{i} 127.0.0.1:{p} check inter 300ms fall 1 rise 1"
                                for i, p in enumerate(cluster.ports))
            cfg = folder / "haproxy.cfg"
            cfg.write_text(HAPROXY_CFG.format(servers=servers, port=cluster.proxy_port, stats=folder / "stats.sock"))
            try:
                for i in range(instances):
                    cluster.spawn(i)
                for i in range(instances):
                    await cluster.wait_serving(i)
                cluster.proxy = subprocess.Popen([haproxy, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                                                 stderr=(folder / "haproxy.log").open("ab"))
                await tg.wait_for(lambda: tg.webhook is not None, timeout=30)
                await asyncio.sleep(1)  # haproxy's first health checks
                yield cluster
            finally:
                for i in range(len(cluster.procs)):
                    proc = cluster.procs[i]
                    if proc is not None:
                        proc.terminate()
                        try:
                            proc.wait(15)
                        except subprocess.TimeoutExpired:
                            proc.kill()
                if cluster.proxy is not None:
                    cluster.proxy.terminate()
                    cluster.proxy.wait(10)
