"""Real processes for tests: an ASGI server, a Celery worker, the event watcher, a second
engine. Each is started with the test environment and stopped by its own pid."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(**extra) -> dict:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "dockerweb.settings")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Proc:
    """A child process with its output in a log file in the data dir."""

    def __init__(self, name: str, args: list[str], env: dict | None = None):
        self.name = name
        log_dir = Path(os.environ.get("DOCKERWEB_DATA_DIR", ROOT / "var")) / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self.args, self.env = args, env or child_env()
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    def restart(self) -> None:
        """Start the same command again (after `stop`, or after it died)."""
        if self.alive():
            self.stop()
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def children(self) -> list[int]:
        """Pids of the process's children (a gunicorn master's workers)."""
        out = []
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                out += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
        return out

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._log.close()


def start_asgi(name: str = "web", *, server: str = "web", workers: int = 1, port: int | None = None,
               **env) -> tuple[Proc, str]:
    """dockerweb served on a loopback port (`port`, or a free one), `env` added to the test
    environment; returns (proc, url). `server="web"` is the production web tier
    (scripts/web.sh: uvicorn workers under gunicorn, `workers` of them); `server="daphne"` one
    daphne process (the old web tier, a benchmark's baseline)."""
    port = port or free_port()
    if server == "daphne":
        args = [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "dockerweb.asgi:application"]
    else:
        args = [str(ROOT / "scripts" / "web.sh")]
        env = {"DOCKERWEB_WEB_WORKERS": workers, **env}
    proc = Proc(name, args, env=child_env(DOCKERWEB_BIND="127.0.0.1", DOCKERWEB_PORT=port, **env))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{name} exited:\n{proc.log_tail()}")
        try:
            requests.get(url + "/healthz", timeout=1)
            return proc, url
        except requests.RequestException:
            time.sleep(0.2)
    proc.stop()
    raise RuntimeError(f"{name} did not answer:\n{proc.log_tail()}")


def worker_name(name: str = "worker") -> str:
    """The Celery node name `start_worker(name)` gives its worker."""
    return f"{name}-{os.getpid()}@{socket.gethostname()}"


def start_worker(name: str = "worker", concurrency: int = 2, queues: str | None = None, **env) -> Proc:
    args = [str(VENV_BIN / "celery"), "-A", "dockerweb", "worker", "-l", "info", "--concurrency", str(concurrency),
            "-n", f"{name}-{os.getpid()}@%h", "--without-gossip", "--without-mingle"]
    if queues:
        args += ["-Q", queues]
    proc = Proc(name, args, env=child_env(**env))
    from dockerweb.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"celery worker exited:\n{proc.log_tail()}")
        replies = app.control.ping(timeout=0.5) or []
        if any(f"{name}-{os.getpid()}@" in list(r)[0] for r in replies):
            return proc
    proc.stop()
    raise RuntimeError(f"celery worker did not answer:\n{proc.log_tail()}")


def start_watcher(name: str = "watcher", **env) -> Proc:
    return Proc(name, [sys.executable, "manage.py", "watch"], env=child_env(**env))


def sandbox(cmd: str, name: str) -> str:
    out = subprocess.run([str(ROOT / "scripts" / "sandbox.sh"), cmd, name], cwd=ROOT, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.05, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value; return it or fail with `message`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")
