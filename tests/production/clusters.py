"""Real PostgreSQL clusters started by the tests: a primary in a temporary directory that allows
replication and archives its WAL, replicas and restored backups made from it with pg_basebackup,
each postmaster on a free port with its unix socket inside its own directory.

PostgreSQL refuses to run as root, and CI runs as root: then every server binary runs as the OS
user `postgres`, which owns the temporary directory. Servers are stopped as `pg_ctl -m immediate` does (SIGQUIT)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("TRUNKPOOL_PG_BIN", "/usr/lib/postgresql/15/bin"))
NEEDED = ("initdb", "pg_ctl", "pg_basebackup", "postgres", "pg_dump", "pg_restore")
AS_ROOT = os.geteuid() == 0
WAIT = 30  # seconds: every wait here is bounded


def missing_binaries() -> str | None:
    """Why the clusters cannot be started here, or None when they can."""
    absent = [name for name in NEEDED if not (PG_BIN / name).exists()]
    if absent:
        return f"PostgreSQL server binaries missing in {PG_BIN}: {', '.join(absent)}"
    return None


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    command = [str(a) for a in args]
    if AS_ROOT:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Workspace:
    """A temporary directory owned by whoever runs the servers; removed by `remove()`."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="trunkpool-clusters-"))
        self.archive = self.root / "wal-archive"
        self.archive.mkdir()
        if AS_ROOT:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.archive, "postgres", "postgres")
        self.clusters: list[Cluster] = []

    def cluster(self, name: str) -> Cluster:
        cluster = Cluster(self, name)
        self.clusters.append(cluster)
        return cluster

    def remove(self) -> None:
        # Every postmaster told first, then waited for: they shut down side by side.
        stopping = [cluster.stop(wait=False) for cluster in self.clusters]
        for pid_file in stopping:
            _wait_gone(pid_file)
        shutil.rmtree(self.root, ignore_errors=True)


def _wait_gone(pid_file: Path | None) -> None:
    # The postmaster removes its pid file as it exits (the pid itself may linger as a zombie
    # of whichever process adopted it).
    deadline = time.monotonic() + WAIT
    while pid_file is not None and pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


class Cluster:
    def __init__(self, workspace: Workspace, name: str):
        self.workspace = workspace
        self.name = name
        self.data = workspace.root / name
        self.sockets = workspace.root / f"{name}-sockets"
        self.log = workspace.root / f"{name}.log"
        self.port = _free_port()
        self.started = False

    # -- making one ----------------------------------------------------------------------------

    def init_primary(self) -> None:
        """initdb, allowing replication from this machine, with WAL kept for replicas and
        copied to the workspace's archive (archive_command) for point-in-time recovery."""
        _run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync")
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n"
            "host replication all 127.0.0.1/32 trust\n"
        )
        archive = self.workspace.archive
        self.configure(
            wal_level="replica",
            max_wal_senders=5,
            hot_standby="on",
            archive_mode="on",
            archive_command=f"test ! -f {archive}/%f && cp %p {archive}/%f",
            # Test data needs no durability across a crash of this machine.
            fsync="off",
            shared_buffers="32MB",
        )

    def init_replica_of(self, primary: Cluster) -> None:
        """pg_basebackup -R: a streaming standby of `primary` (standby.signal, conninfo)."""
        primary.base_backup(self.data, "-R")

    def base_backup(self, target: Path, *extra: str) -> None:
        _run(
            PG_BIN / "pg_basebackup",
            *("-h", "127.0.0.1", "-p", self.port, "-U", "postgres"),
            *("-D", target, "-X", "stream", "-c", "fast", "--no-sync", *extra),
        )

    def restore_from(self, backup: Path, **recovery) -> None:
        """A new cluster from a base backup, replaying archived WAL up to the recovery target
        and then promoted (point-in-time recovery)."""
        _run("cp", "-a", backup, self.data)
        archive = self.workspace.archive
        self.configure(
            restore_command=f"cp {archive}/%f %p",
            recovery_target_action="promote",
            archive_mode="off",
            **recovery,
        )
        _run("touch", self.data / "recovery.signal")

    def configure(self, **settings) -> None:
        lines = "".join(f"{key} = '{value}'\n" for key, value in settings.items())
        _run("sh", "-c", f"cat >> {self.data}/postgresql.auto.conf", input=lines)

    # -- running it ----------------------------------------------------------------------------

    def start(self) -> None:
        self.sockets.mkdir(exist_ok=True)
        if AS_ROOT:
            shutil.chown(self.sockets, "postgres", "postgres")
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
        _run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start")
        self.started = True

    def stop(self, *, wait: bool = True) -> Path | None:
        """Immediate shutdown (SIGQUIT to the postmaster, what `pg_ctl -m immediate` sends);
        returns the pid file to wait on when not waiting here."""
        if not self.started:
            return None
        self.started = False
        pid_file = self.data / "postmaster.pid"
        try:
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGQUIT)
        except (OSError, ValueError, IndexError):
            return None  # it was not running
        if wait:
            _wait_gone(pid_file)
        return pid_file

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(database), autocommit=True)

    def query(self, sql: str, params=(), database: str = "postgres"):
        with self.connect(database) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def wait_for(self, condition, what: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"gave up waiting for {what}:\n{self.log_text()}"
            time.sleep(0.05)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""
