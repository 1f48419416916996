"""Real app-server and worker processes against the test database, for the tests that prove
the app keeps no state of its own: each process gets its own empty MEDIA_ROOT and TMPDIR."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.db import connection

# Every wait in these tests is bounded by this; a healthy run needs a few seconds.
STARTUP_TIMEOUT = 60


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Process:
    """One child process with its own empty MEDIA_ROOT and TMPDIR under `root/name`."""

    def __init__(self, root: Path, name: str, args: list[str], env: dict[str, str] | None = None):
        self.name = name
        home = root / name
        (home / "media").mkdir(parents=True)
        (home / "tmp").mkdir()
        self.log_path = home / "output.log"
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "MEDIA_ROOT": str(home / "media"),
            "TMPDIR": str(home / "tmp"),
            "DEBUG": "0",
            "STATIC_MANIFEST": "0",
            "SECRET_KEY": "stateless-test-key-shared-by-every-process",
            "ALLOWED_HOSTS": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.popen = subprocess.Popen(
            [sys.executable, *args],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def assert_running(self) -> None:
        code = self.popen.poll()
        assert code is None, f"{self.name} exited with {code}:\n{self.output()}"

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()


def start_worker(
    root: Path, name: str, *, batch: bool = False, env: dict[str, str] | None = None
) -> Process:
    args = ["manage.py", "db_worker", "--queue-name=*", "--no-reload", "--no-startup-delay"]
    args += [f"--worker-id={name}", "--interval=0.1"]
    return Process(root, name, args + (["--batch"] if batch else []), env)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server(Process):
    def __init__(self, root: Path, name: str, env: dict[str, str] | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = ["-m", "gunicorn", "config.wsgi", f"--bind=127.0.0.1:{self.port}", "--workers=1"]
        # gunicorn's control socket defaults to one path in $HOME, shared by every server.
        args += ["--no-control-socket"]
        super().__init__(root, name, args, env)

    def wait_until_up(self) -> None:
        wait_until(lambda: self._healthy(), processes=[self], what=f"{self.name} to answer")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:  # refused, reset or timed out while the app still loads
            return False


def wait_until(condition, *, processes, what: str, timeout: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for process in processes:
            process.assert_running()
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)
