"""`heroes serve --workers 2`: two worker processes, both answering.

Which worker answered is read from the operating system rather than from the app: the
test keeps a pool of connections open and looks, in /proc, at which process holds the
server end of each one.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import httpx
import pytest

HEROES = str(Path(sys.executable).with_name("heroes"))
WORKERS = 2
CONNECTIONS = 16

pytestmark = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="reads the process table from Linux's /proc"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:  # the process ended meanwhile
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def server_sockets(port: int) -> tuple[str | None, set[str]]:
    """The inode of the socket listening on `port` and those of its accepted connections
    (/proc/net/tcp: local address, state 0A = LISTEN, 01 = ESTABLISHED, inode)."""
    listening, accepted = None, set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port != port:
            continue
        if fields[3] == "0A":
            listening = fields[9]
        elif fields[3] == "01":
            accepted.add(fields[9])
    return listening, accepted


def who_answers(server_pid: int, port: int) -> tuple[set[int], dict[int, int]]:
    """The worker processes (they share the listening socket) and, for each, how many of
    the client's connections it holds."""
    listening, accepted = server_sockets(port)
    workers, served = set(), {}
    for pid in descendants(server_pid):
        held = socket_inodes(pid)
        if listening in held:
            workers.add(pid)
            served[pid] = len(held & accepted)
    return workers, served


async def started(base: str, server_pid: int, port: int) -> set[int]:
    """Wait (bounded: two minutes on a busy machine) until the workers are listening."""
    workers: set[int] = set()
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(480):
            try:
                if (await client.get("/health")).status_code == 200:
                    workers, _ = await asyncio.to_thread(who_answers, server_pid, port)
                    if len(workers) == WORKERS:
                        break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
    return workers


async def one_round(base: str, server_pid: int, port: int) -> dict[int, int]:
    """CONNECTIONS concurrent requests on new connections; while they are still open, how
    many each worker accepted."""
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, limits=limits) as client:
        responses = await asyncio.gather(*(client.get("/heroes/") for _ in range(CONNECTIONS)))
        assert [response.status_code for response in responses] == [200] * CONNECTIONS
        assert all(len(response.json()) == 1 for response in responses)
        _, served = await asyncio.to_thread(who_answers, server_pid, port)
    return served


async def test_two_workers_answer(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'workers.db'}",
        "CURSOR_SECRET": "one-secret-for-every-worker",  # several workers refuse to start without
    }
    process = await asyncio.create_subprocess_exec(
        HEROES,
        "serve",
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        workers = await started(base, process.pid, port)
        assert len(workers) == WORKERS
        async with httpx.AsyncClient(base_url=base) as client:
            created = await client.post("/heroes/", json={"name": "Deadpond", "secret_name": "D"})
            assert created.status_code == 200, created.text
        answered: set[int] = set()
        for _ in range(20):  # bounded: the kernel spreads new connections over the workers
            served = await one_round(base, process.pid, port)
            answered |= {pid for pid, count in served.items() if count}
            if answered == workers:
                break
        assert answered == workers
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=60)
