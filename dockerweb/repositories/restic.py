"""The one door to restic (Debian's `restic`), which keeps the snapshots of a repository:
incremental, deduplicated, compressed and encrypted. Nothing else runs the binary.

A `Restic` is opened for one repository and one job: it writes what restic needs on disk (the
password file, and for SFTP the private key and the pinned host key, each 0600 in a private
folder) and removes it on close. Every call runs restic with a clean environment (no
`~/.ssh/config`, no agent), JSON output where restic has it, and translates its failures into
the sentences of `core.errors` — a wrong password, a server that cannot be reached, a repository
that is not there."""
from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from django.conf import settings

from dockerweb.core.errors import AppError, BadRequest, Conflict, NotFound, Unavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """Where a repository is and how to open it (secrets in the clear, for this job only)."""

    kind: str  # "local" | "sftp"
    location: str  # a folder, or sftp://user@host[:port]/path
    password: str
    ssh_key: str = ""
    known_host: str = ""


def sftp_parts(location: str) -> tuple[str, str, int, str]:
    """`sftp://user@host[:port]/path` → (user, host, port, path); BadRequest if it is not one."""
    from urllib.parse import urlsplit

    try:
        u = urlsplit(location)
        port = u.port or 22
    except ValueError as exc:
        raise BadRequest(f"The location is not an SFTP address ({exc}).", field="location") from exc
    if u.scheme != "sftp" or not u.hostname or not u.username or not u.path or u.path == "/":
        raise BadRequest("An SFTP location reads sftp://user@host[:port]/path/to/repository.", field="location")
    if u.query or u.fragment or u.password:
        raise BadRequest("An SFTP location has no password, query or fragment: the key authenticates.",
                         field="location")
    return u.username, u.hostname, port, u.path


class ResticError(AppError):
    """restic failed; `message` says why in our words, `detail.output` holds restic's last lines."""


def _explain(stderr: str, target: Target) -> AppError:
    text = stderr.strip()
    low = text.lower()
    tail = "\n".join(text.splitlines()[-5:])
    if "wrong password" in low or "no key found" in low:
        return BadRequest("The repository's password is wrong.", field="password")
    if "host key verification failed" in low or "remote host identification has changed" in low:
        return Conflict("The SFTP server's host key is not the pinned one (known_host): the connection was refused.",
                        field="known_host")
    if "permission denied (publickey" in low:
        return Conflict("The SFTP server refused the key (ssh_key).", field="ssh_key")
    if any(s in low for s in ("connection refused", "connection reset", "no route to host", "connection timed out",
                              "broken pipe", "unable to start the sftp session", "connection closed",
                              "ssh command exited")):
        where = sftp_parts(target.location)[1] if target.kind == "sftp" else target.location
        return Unavailable(f"The repository's server ({where}) cannot be reached: {tail}")
    if "no matching id found" in low or "invalid id" in low:
        return NotFound("The repository has no such snapshot.", field="snapshot")
    if "unable to open config file" in low or "is there a repository at the following location" in low:
        return Conflict(f"There is no repository at {target.location}.", field="location")
    if "repository is already locked" in low:
        return Conflict("The repository is busy (another job holds its lock); try again when it has finished.")
    if "no space left" in low:
        return Unavailable(f"The repository's disk is full: {tail}")
    return ResticError(f"restic failed: {tail or 'no output'}")


class Restic:
    """restic for one repository, for the length of a `with` block."""

    def __init__(self, target: Target):
        self.target = target
        self._dir: str | None = None
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> "Restic":
        # Its own folder for the secrets of this run (not the process's temp folder, which the
        # web tier points at the uploads beside the archive store).
        base = Path(settings.DATA_DIR) / "restic-run"
        base.mkdir(mode=0o700, exist_ok=True)
        _stale_runs_remove(base)
        self._dir = tempfile.mkdtemp(prefix=f"dw-restic-{_MACHINE}-{os.getpid()}-", dir=base)
        os.chmod(self._dir, 0o700)
        self._write("password", self.target.password)
        if self.target.kind == "sftp":
            self._write("id", self.target.ssh_key.strip() + "\n")
            user, host, port, _ = sftp_parts(self.target.location)
            # The pinned key ("type base64", after a host name or before a comment, as ssh-keyscan
            # or a .pub file has it) is written for the very address restic's ssh dials.
            self._write("known_hosts", f"{host_pattern(host, port)} {' '.join(host_key_parts(self.target.known_host))}\n")
        return self

    def __exit__(self, *exc) -> None:
        self.kill()
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    def _write(self, name: str, text: str) -> None:
        path = os.path.join(self._dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)

    # --- running restic ---

    def repo_args(self, prefix: str = "") -> list[str]:
        """How restic names and opens this repository: `-r`, the password file and, for SFTP,
        the ssh command (`prefix` "from-" for the source of a copy)."""
        t = self.target
        argv = []
        if t.kind == "sftp":
            user, host, port, path = sftp_parts(t.location)
            argv += ["-o", "sftp.command=" + shlex.join(self._ssh())]
            where = f"sftp:{user}@{host}:{path}"
        else:
            where = t.location
        flag = "--from-repo" if prefix else "-r"
        return argv + [flag, where, f"--{prefix}password-file", os.path.join(self._dir, "password")]

    def _ssh(self) -> list[str]:
        """The ssh that restic runs for an SFTP repository: this job's key and pinned host key only."""
        user, host, port, _ = sftp_parts(self.target.location)
        return ["ssh", "-F", "/dev/null", "-i", os.path.join(self._dir, "id"), "-p", str(port),
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={os.path.join(self._dir, 'known_hosts')}",
                "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
                "-l", user, host, "-s", "sftp"]

    def _failure(self, stderr: str) -> AppError:
        """restic's failure in words. restic 0.14 may exit before it passes on what its ssh said
        (only "unable to start the sftp session, error: EOF" is left): then ssh is asked again,
        alone, so a changed host key or a refused key is told as such, not as a server away."""
        why = _explain(stderr, self.target)
        if (self.target.kind == "sftp" and "unable to start the sftp session" in stderr
                and isinstance(why, (Unavailable, ResticError))):
            try:
                probe = subprocess.run(self._ssh(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                       timeout=30, env=self._env())
            except (OSError, subprocess.TimeoutExpired):
                return why
            told = _explain(probe.stderr, self.target)
            if not isinstance(told, ResticError):  # ssh said something we know
                return told
        return why

    def _argv(self, args: list[str]) -> list[str]:
        cache = ["--cache-dir", settings.RESTIC_CACHE_DIR] if settings.RESTIC_CACHE_DIR else ["--no-cache"]
        limit = max(1, settings.BACKUP_BWLIMIT // 1024) if settings.BACKUP_BWLIMIT else 0
        limits = ["--limit-upload", str(limit), "--limit-download", str(limit)] if limit else []
        return [settings.RESTIC_BINARY, *cache, *limits, *self.repo_args(), *args]

    def _env(self) -> dict[str, str]:
        keep = {k: os.environ[k] for k in ("PATH", "LANG", "TZ") if k in os.environ}
        return {**keep, "HOME": self._dir, "RESTIC_PROGRESS_FPS": "2"}

    def run(self, args: list[str], *, cwd: str | None = None, timeout: float | None = None,
            watch: Callable[[], None] | None = None) -> str:
        """Run restic to its end; its stdout, or the translated error. `watch` is called twice a
        second while it runs; what it raises (a cancelled job) stops restic and is raised."""
        limit = timeout or settings.RESTIC_TIMEOUT
        proc = self._start(args, cwd=cwd)
        out: list[str] = []
        err: list[str] = []
        readers = [threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True),
                   threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)]
        for r in readers:
            r.start()
        deadline = time.monotonic() + limit
        try:
            while True:
                try:
                    proc.wait(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() > deadline:
                        raise Unavailable(f"restic did not answer within {limit:.0f} s.") from None
                    if watch is not None:
                        watch()
        finally:
            if proc.poll() is None:
                self.kill()
                proc.wait()
            for r in readers:
                r.join(5)
            self._proc = None
        if proc.returncode != 0:
            raise self._failure("".join(err))
        return "".join(out)

    def stream(self, args: list[str], *, cwd: str | None = None,
               on_line: Callable[[dict], None] | None = None) -> dict | None:
        """Run a restic command whose stdout is JSON lines (`backup --json`, `restore --json`),
        passing each to `on_line`; returns the last line (restic's summary)."""
        proc = self._start(args, cwd=cwd)
        errors: list[str] = []
        reader = threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True)
        reader.start()
        last = None
        try:
            for raw in proc.stdout:
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                last = line
                if on_line is not None:
                    on_line(line)
            proc.wait()
        finally:
            if proc.poll() is None:
                self.kill()
                proc.wait()
            reader.join(5)
            self._proc = None
        if proc.returncode not in (0, 3):  # 3: some source files could not be read (told in the summary)
            raise self._failure("".join(errors))
        return last

    def _start(self, args: list[str], *, cwd: str | None, text: bool = True) -> subprocess.Popen:
        argv = self._argv(args)
        log.debug("restic: %s", shlex.join(argv))
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=self._env(), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=text,
                                    start_new_session=True,  # its ssh goes with it on kill
                                    preexec_fn=_die_with_parent)
        except FileNotFoundError as exc:
            raise Unavailable("restic is not installed on this worker (Debian package `restic`).") from exc
        with self._lock:
            self._proc = proc
        return proc

    def kill(self) -> None:
        """Stop what runs now (a cancelled job), with its ssh."""
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    # --- the commands dockerweb uses ---

    def init(self) -> None:
        self.run(["init"])

    def exists(self) -> bool:
        """Whether a repository is at the location (and the password opens it)."""
        try:
            self.run(["cat", "config"])
            return True
        except Conflict as exc:
            if exc.field == "location":
                return False
            raise

    def snapshots(self, tags: list[str] | None = None, ids: list[str] | None = None) -> list[dict]:
        args = ["snapshots", "--json"] + [a for t in (tags or []) for a in ("--tag", t)] + list(ids or [])
        return json.loads(self.run(args) or "[]") or []

    def backup(self, folder: str, *, host: str, tags: list[str],
               on_status: Callable[[dict], None] | None = None) -> dict:
        """Snapshot `folder`'s contents (stored as the snapshot's root); restic's summary."""
        args = ["backup", "--json", "--host", host, *[a for t in tags for a in ("--tag", t)], "."]

        def on_line(line: dict) -> None:
            if line.get("message_type") == "status" and on_status is not None:
                on_status(line)
        summary = self.stream(args, cwd=folder, on_line=on_line)
        if not summary or summary.get("message_type") != "summary" or not summary.get("snapshot_id"):
            raise ResticError("restic ended without naming the snapshot it made.")
        return summary

    def ls(self, snapshot: str, path: str = "/") -> list[dict]:
        """The folder `path` of a snapshot and its direct entries (restic's nodes). restic 0.14's
        JSON leaves out a link's text; its long listing has it, after the path we know."""
        out = self.run(["ls", "--json", snapshot, path])
        nodes, found = [], False
        for raw in out.splitlines():
            try:
                node = json.loads(raw)
            except ValueError:
                continue
            if node.get("struct_type") == "node":
                nodes.append(node)
            elif node.get("struct_type") == "snapshot":
                found = True
        if not found:
            raise NotFound("The repository has no such snapshot.", field="snapshot")
        links = {n["path"]: n for n in nodes if n.get("type") == "symlink" and "linktarget" not in n}
        if links:
            for line in self.run(["ls", "-l", snapshot, path]).splitlines():
                for p, node in links.items():
                    marker = f" {p} -> "
                    if marker in line and "linktarget" not in node:
                        node["linktarget"] = line.split(marker, 1)[1]
        return nodes

    def dump(self, snapshot: str) -> "Dump":
        """The whole snapshot as a plain tar (`restic dump … /`), its members the volume's paths.
        A failure to start (no such snapshot, a wrong password, a server away) is raised, in
        words, before the first byte; one after it is logged and raised while the chunks are read
        (the response is cut short, never ended like a complete archive)."""
        proc = self._start(["dump", "--archive", "tar", snapshot, "/"], cwd=None, text=False)
        errors: list[bytes] = []
        reader = threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True)
        reader.start()
        first = proc.stdout.read1(CHUNK)
        if not first:
            proc.wait()
            reader.join(5)
            self._proc = None
            if proc.returncode != 0:
                raise self._failure(b"".join(errors).decode("utf-8", "replace"))
        return Dump(self, proc, first, reader, errors)

    def restore(self, snapshot: str, target: str, *, include: list[str] | None = None, watch=None) -> None:
        self.run(["restore", snapshot, "--target", target, *[a for p in (include or []) for a in ("--include", p)]],
                 timeout=settings.RESTIC_TIMEOUT * 100, watch=watch)

    def forget(self, *, tags: list[str], host: str, keep: dict[str, int], prune: bool = True) -> list[dict]:
        # Grouped by host and path (a volume's folder), not by tags: a volume's tags carry its
        # root folder's owner and mode, which may change between snapshots.
        args = ["forget", "--json", "--host", host, "--group-by", "host,paths", "--tag", ",".join(tags)]
        for rule, n in keep.items():
            if n:
                args += [f"--keep-{rule}", str(n)]
        if prune:
            args.append("--prune")
        out = self.run(args, timeout=settings.RESTIC_TIMEOUT * 10)
        first = out.splitlines()[0] if out else "[]"
        try:
            return json.loads(first) or []
        except ValueError:
            return []

    def copy_from(self, source: "Restic", *, tags: list[str]) -> str:
        """Copy into this repository every snapshot with `tags` that `source` has and this one
        lacks (restic skips what is there: a copy that failed is made up by the next)."""
        if source.target.kind == "sftp" and self.target.kind == "sftp":
            raise Conflict("Copies between two SFTP repositories are not supported (restic takes one ssh command).")
        return self.run(["copy", *source.repo_args("from-"), "--tag", ",".join(tags)],
                        timeout=settings.RESTIC_TIMEOUT * 100)

    def check(self) -> str:
        return self.run(["check"], timeout=settings.RESTIC_TIMEOUT * 10)

    def unlock(self) -> None:
        """Remove stale locks (of a worker killed mid-job); live ones stay."""
        self.run(["unlock"])


KEY_TYPES = re.compile(r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+)\Z")


def host_key_parts(line: str) -> tuple[str, str]:
    """(type, base64) of a host key line; ("", "") when there is none."""
    words = line.split()
    for i, word in enumerate(words[:-1]):
        if KEY_TYPES.match(word) and re.match(r"^[A-Za-z0-9+/]+={0,3}\Z", words[i + 1]):
            return word, words[i + 1]
    return "", ""


CHUNK = 1 << 20


# The machine (or container) a run folder belongs to: the data folder may be shared between
# machines (docs/deploy.md), and whether a process is alive can only be told on its own machine.
_MACHINE = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:40] or "here"


def _stale_runs_remove(base: Path) -> None:
    """Remove the run folders (secrets) of this machine's processes that are gone: a worker
    killed with -9 never reached its `__exit__`. Each folder is named after the machine and the
    process that made it; other machines' folders are theirs to judge."""
    for entry in base.iterdir():
        m = re.fullmatch(rf"dw-restic-{_MACHINE}-(\d+)-\w+", entry.name)
        if not m:
            continue
        if not _alive(int(m.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether process `pid` of this machine still runs (a zombie, dead but not yet reaped by
    its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class Dump:
    """The chunks of a running `restic dump`, for a streamed response: iterate them, and
    `close()` (the response does, even when never iterated) stops restic and removes the run's
    secrets."""

    def __init__(self, restic: Restic, proc: subprocess.Popen, first: bytes, reader: threading.Thread,
                 errors: list[bytes]):
        self.restic, self.proc, self.first, self.reader, self.errors = restic, proc, first, reader, errors

    def __iter__(self):
        if self.first:
            yield self.first
        while chunk := self.proc.stdout.read1(CHUNK):
            yield chunk
        self.proc.wait()
        if self.proc.returncode != 0:
            # restic 0.14 may still have ended its tar cleanly: raising here keeps the stream
            # from looking complete (the response is cut short instead).
            self.reader.join(5)
            text = b"".join(self.errors).decode("utf-8", "replace").strip()
            log.warning("restic dump ended with %s after it began: %s", self.proc.returncode, text[-300:])
            raise self.restic._failure(text)

    def close(self) -> None:
        self.restic.__exit__(None, None, None)  # stops restic if it still runs
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc.stdout.close()
        self.reader.join(5)


def _die_with_parent() -> None:
    """In the child, before exec: a worker killed with -9 takes its restic along (an orphan
    would go on writing into the repository after the job was failed and retried)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def host_pattern(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"
