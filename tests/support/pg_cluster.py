"""Test harness: a streaming replica of the local PostgreSQL and a PgBouncer in front of it.

Both are session-scoped fixtures that start what they need in a temporary directory and
stop it afterwards. When they cannot be started they skip locally and fail in CI (CI=true).

The local server is a Debian cluster: its configuration lives in /etc/postgresql, outside
the data directory, so the replica gets its own minimal postgresql.conf and pg_hba.conf.
PostgreSQL and PgBouncer both refuse to run as root: when the suite runs as root, their
processes run as the `postgres` OS user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import URL, make_url

from .backends import SERVER_URLS, reachable
from .backends import unavailable as _unavailable

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
SERVER_USER = "postgres"  # the OS user that runs the server processes
#: The line the primary's pg_hba.conf needs for pg_basebackup and streaming from 127.0.0.1.
REPLICATION_HBA = "host replication all 127.0.0.1/32 trust"
START_TIMEOUT = 60  # seconds: pg_basebackup + start, or PgBouncer answering


class HarnessError(RuntimeError):
    """Something the harness needs is missing or would not start."""


def unavailable(message: str) -> None:
    """Skip locally, fail in CI: nothing is skipped silently there."""
    _unavailable(message, "CI runs the replica and PgBouncer tests")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *command]
    return command


def _run(command: list[str], *, timeout: float = START_TIMEOUT) -> str:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise HarnessError(f"{' '.join(command)}: {error}") from None
    if done.returncode != 0:
        raise HarnessError(f"{' '.join(command)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def _server_dir(prefix: str) -> Path:
    """A temporary directory the server user owns (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        os.chown(path, user.pw_uid, user.pw_gid)
    path.chmod(0o700)
    return path


def _wait_for_port(port: int, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise HarnessError(f"the process exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise HarnessError(f"nothing answers on 127.0.0.1:{port}")


# --- the primary ----------------------------------------------------------------------------


def _psql(url: URL, sql: str) -> str:
    return _run(
        [
            str(PG_BIN / "psql"), "-X", "-At", "-h", url.host or "127.0.0.1",
            "-p", str(url.port or 5432), "-U", url.username or "postgres",
            "-d", url.database or "postgres", "-c", sql,
        ]
    ).strip()


def allow_replication(primary: URL) -> None:
    """Make sure the primary accepts replication connections from 127.0.0.1.

    Idempotent: appends REPLICATION_HBA to the primary's pg_hba.conf only when no line
    allows it yet, then reloads. `wal_level` and `max_wal_senders` need a restart to
    change, so they are only checked.
    """
    wal_level = _psql(primary, "SHOW wal_level")
    senders = int(_psql(primary, "SHOW max_wal_senders"))
    if wal_level not in ("replica", "logical") or senders < 1:
        raise HarnessError(
            f"the primary cannot stream (wal_level={wal_level}, max_wal_senders={senders}); "
            "set wal_level=replica and max_wal_senders>=1 and restart it"
        )
    hba_file = Path(_psql(primary, "SHOW hba_file"))
    lines = [line.split() for line in hba_file.read_text().splitlines()]
    allowed = any(
        len(words) >= 4 and words[0] == "host" and words[1] == "replication"
        and words[3] in ("127.0.0.1/32", "all", "0.0.0.0/0")
        for words in lines
    )
    if not allowed:
        with hba_file.open("a") as hba:
            hba.write(f"\n# added by the sqlmodel-async test harness (tests/pg_cluster.py)\n"
                      f"{REPLICATION_HBA}\n")
        _psql(primary, "SELECT pg_reload_conf()")


# --- the replica ----------------------------------------------------------------------------


@dataclass
class Replica:
    """A hot standby streaming from the primary, in its own data directory and port."""

    directory: Path
    port: int
    url: URL  # the same database as the primary's URL, on the replica's port

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def _pg_ctl(self, *args: str) -> None:
        _run(_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args]))

    def start(self) -> None:
        self._pg_ctl("start", "-w", "-t", str(START_TIMEOUT), "-l", str(self.directory / "log"))

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast", "-w")

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def _replica_config(primary: URL, port: int, directory: Path) -> str:
    # A standby refuses to start with fewer of these than the primary has.
    same_as_primary = [
        "max_connections", "max_worker_processes", "max_wal_senders",
        "max_prepared_transactions", "max_locks_per_transaction",
    ]
    settings = {name: _psql(primary, f"SHOW {name}") for name in same_as_primary}
    settings.update(
        listen_addresses="'127.0.0.1'",
        port=str(port),
        unix_socket_directories=f"'{directory}'",
        hot_standby="on",
        hot_standby_feedback="on",
        shared_buffers="16MB",
        fsync="off",  # a throwaway copy
        logging_collector="off",
    )
    return "".join(f"{name} = {value}\n" for name, value in settings.items())


def start_replica(primary: URL) -> Replica:
    """pg_basebackup -R from the primary into a temporary directory, then start it."""
    allow_replication(primary)
    directory = _server_dir("sqlmodel-async-replica-")
    port = free_port()
    replica = Replica(directory, port, primary.set(port=port))
    try:
        _run(_as_server_user([
            str(PG_BIN / "pg_basebackup"), "-h", primary.host or "127.0.0.1",
            "-p", str(primary.port or 5432), "-U", primary.username or "postgres",
            "-D", str(replica.data), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync",
        ]))
        config = {
            "postgresql.conf": _replica_config(primary, port, directory),
            "pg_hba.conf": "local all all trust\nhost all all 127.0.0.1/32 trust\n",
            "pg_ident.conf": "",
        }
        for name, text in config.items():
            (replica.data / name).write_text(text)
            if os.geteuid() == 0:
                shutil.chown(replica.data / name, SERVER_USER, SERVER_USER)
        replica.start()
    except BaseException:
        stop_replica(replica)
        raise
    return replica


def stop_replica(replica: Replica) -> None:
    if replica.is_running():
        with contextlib.suppress(HarnessError):
            replica.stop()
    shutil.rmtree(replica.directory, ignore_errors=True)


# --- PgBouncer ------------------------------------------------------------------------------


@dataclass
class Bouncer:
    """A PgBouncer in transaction pooling mode in front of the local PostgreSQL."""

    directory: Path
    process: subprocess.Popen[bytes]
    url: URL  # the primary's database, through PgBouncer
    pool_size: int

    def server_connections(self) -> int:
        """Server connections PgBouncer holds to the URL's database (its admin console)."""
        rows = _run([
            str(PG_BIN / "psql"), "-X", "-At", "-F", "|", "-h", "127.0.0.1",
            "-p", str(self.url.port), "-U", self.url.username or "postgres", "-d", "pgbouncer",
            "-c", "SHOW SERVERS",
        ]).splitlines()
        return sum(1 for row in rows if row.split("|")[2:3] == [self.url.database])


def start_pgbouncer(primary: URL, *, pool_size: int = 4) -> Bouncer:
    if not Path(PGBOUNCER).exists():
        raise HarnessError("pgbouncer is not installed (apt-get install pgbouncer)")
    directory = _server_dir("sqlmodel-async-pgbouncer-")
    port = free_port()
    user = primary.username or "postgres"
    ini = f"""\
[databases]
* = host={primary.host or "127.0.0.1"} port={primary.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_db_connections = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 1000
admin_users = {user}
logfile = {directory}/pgbouncer.log
"""
    files = {"pgbouncer.ini": ini, "userlist.txt": f'"{user}" ""\n'}
    for name, text in files.items():
        (directory / name).write_text(text)
        if os.geteuid() == 0:
            shutil.chown(directory / name, SERVER_USER, SERVER_USER)
    process = subprocess.Popen(
        _as_server_user([PGBOUNCER, str(directory / "pgbouncer.ini")]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    bouncer = Bouncer(directory, process, primary.set(port=port), pool_size)
    try:
        _wait_for_port(port, process)
    except BaseException as error:
        log = directory / "pgbouncer.log"
        stop_pgbouncer(bouncer)
        if isinstance(error, HarnessError) and log.exists():
            raise HarnessError(f"{error}: {log.read_text()[-2000:]}") from None
        raise
    return bouncer


def stop_pgbouncer(bouncer: Bouncer) -> None:
    if bouncer.process.poll() is None:
        bouncer.process.terminate()
        try:
            bouncer.process.wait(10)
        except subprocess.TimeoutExpired:
            bouncer.process.kill()
            bouncer.process.wait()
    shutil.rmtree(bouncer.directory, ignore_errors=True)


# --- fixtures -------------------------------------------------------------------------------


def _primary_url() -> URL:
    url = make_url(SERVER_URLS["postgresql"])
    if reachable(url, default_port=5432):
        return url
    unavailable(f"PostgreSQL is not reachable at {url.render_as_string()}")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def pg_primary_url() -> URL:
    """The local PostgreSQL the replica and PgBouncer sit in front of."""
    return _primary_url()


@pytest.fixture(scope="session")
def pg_replica(pg_primary_url: URL) -> Iterator[Replica]:
    """A streaming replica of the local PostgreSQL, stopped and removed afterwards."""
    try:
        replica = start_replica(pg_primary_url)
    except HarnessError as error:
        unavailable(f"cannot start a PostgreSQL replica: {error}")
        raise
    try:
        yield replica
    finally:
        stop_replica(replica)


@pytest.fixture(scope="session")
def pgbouncer(pg_primary_url: URL) -> Iterator[Bouncer]:
    """A PgBouncer in transaction pooling mode with 4 server connections."""
    try:
        bouncer = start_pgbouncer(pg_primary_url, pool_size=4)
    except HarnessError as error:
        unavailable(f"cannot start PgBouncer: {error}")
        raise
    try:
        yield bouncer
    finally:
        stop_pgbouncer(bouncer)
