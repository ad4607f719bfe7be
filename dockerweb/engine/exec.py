"""Engine calls of `docker exec`: create, start (the raw attach socket), inspect, resize, kill,
and a one-off run that collects the output.

Every exec dockerweb starts carries the environment variable `DOCKERWEB_EXEC_ID=<token>`, a
random token of its own. The engine cannot end an exec (closing the attach socket leaves the
process running, and `docker exec` has no kill), so the token is how the process and everything
it started are found again: by this machine's /proc when the engine runs here, else by a second
exec in the container (`exec_kill`).

The attach stream: with a TTY it is the terminal's raw bytes; without, stdout and stderr come
multiplexed in frames of an 8-byte header (stream, 0, 0, 0, big-endian size) and the payload,
which `Demuxer` takes apart in the order the engine sent them."""
from __future__ import annotations

import os
import re
import secrets
import selectors
import signal
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dockerweb.core.errors import AppError, BadRequest, NotFound

from .client import api, stream_client
from .errors import engine_errors, unreachable
from .local import engine_pid, unix_socket_path

TOKEN_ENV = "DOCKERWEB_EXEC_ID"
READ_SIZE = 1 << 16
# What the engine writes into the stream, instead of output, when it could not start the process.
_START_FAILURES = (
    (re.compile(r"unable to find (user|group)|no matching entries in (passwd|group) file|"
                r"(user|group) .* not found|invalid (user|group)", re.I), "user"),
    (re.compile(r"chdir to cwd|\bcwd\b|working directory", re.I), "workdir"),
    (re.compile(r"executable file not found|no such file or directory|permission denied|exec format error|"
                r"is a directory|not a directory", re.I), "cmd"),
)


def exec_create(host, container_id: str, *, cmd: list[str], tty: bool = False, stdin: bool = False,
                user: str = "", workdir: str = "", env: dict[str, str] | None = None) -> tuple[str, str]:
    """Create (not start) an exec of `cmd` in a running container. Returns `(exec id, token)`.

    A container that is not running, or paused, is a 409 (the engine's sentence)."""
    token = secrets.token_hex(12)
    environment = dict(env or {})
    if tty:
        environment.setdefault("TERM", "xterm")
    environment[TOKEN_ENV] = token
    with engine_errors(host):
        created = api(host).exec_create(container_id, cmd, stdout=True, stderr=True, stdin=stdin, tty=tty,
                                        environment=environment, user=user or "", workdir=workdir or None)
    return created["Id"], token


def exec_inspect(host, exec_id: str) -> dict:
    """The engine's inspect of an exec: `Running`, `ExitCode`, `Pid` (as this engine's machine
    sees it; 0 when the process never started), `ContainerID`, `ProcessConfig`."""
    with engine_errors(host):
        return api(host).exec_inspect(exec_id)


def exec_resize(host, exec_id: str, *, cols: int, rows: int, timeout: int = 5) -> None:
    """Tell the exec's TTY its new size (the program gets SIGWINCH). An engine holds the resize
    of a process that failed to start for 10 s before it refuses it: `timeout` bounds that."""
    with engine_errors(host):
        api(host, timeout=timeout).exec_resize(exec_id, height=int(rows), width=int(cols))


def exec_wait(host, exec_id: str, *, timeout: float = 2.0) -> dict:
    """The exec's inspect once it no longer runs (or as it is when `timeout` passes): the
    engine reports the exit code a moment after the stream ends."""
    deadline = time.monotonic() + timeout
    while True:
        info = exec_inspect(host, exec_id)
        if not info.get("Running") or time.monotonic() >= deadline:
            return info
        time.sleep(0.02)


def start_failure(info: dict, output: str) -> tuple[str, str] | None:
    """`(field, sentence)` when the engine could not start the exec's process (it then writes
    its reason into the stream, and the exec has no pid), else None."""
    if info.get("Pid") or info.get("Running"):
        return None
    text = output.strip()
    for pattern, name in _START_FAILURES:
        if pattern.search(text):
            return name, text or "The engine could not start the command."
    if info.get("ExitCode") in (126, 127) and text:
        return "cmd", text
    return None


# --- the attach socket ---------------------------------------------------------------------------

class Demuxer:
    """Takes the engine's multiplexed stream apart, whatever the chunks it arrives in."""

    def __init__(self):
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """`[(stream, payload)]` of every frame completed by `data` (1 stdout, 2 stderr)."""
        self._buf += data
        frames = []
        while len(self._buf) >= 8:
            kind, size = self._buf[0], struct.unpack(">I", self._buf[4:8])[0]
            if len(self._buf) < 8 + size:
                break
            frames.append((kind, bytes(self._buf[8:8 + size])))
            del self._buf[:8 + size]
        return frames


class ExecSocket:
    """The hijacked connection of a started exec: what the process writes comes out of
    `recv`, what `send` writes goes to its stdin. `close()` drops the connection (and the
    fresh client it came from); it does not end the process (see `exec_kill`)."""

    def __init__(self, host, exec_id: str, *, tty: bool):
        self.exec_id = exec_id
        self.tty = tty
        self._client = stream_client(host)
        try:
            with engine_errors(host):
                sock = self._client.api.exec_start(exec_id, tty=tty, socket=True)
        except Exception:
            self._client.close()
            raise
        self._io = sock  # the SocketIO (unix, tcp) or SSLSocket (tls) the SDK gives
        self.sock: socket.socket = sock._sock if isinstance(sock, socket.SocketIO) else sock
        self._early = self._buffered(sock)
        self.sock.settimeout(None)
        self._closed = False

    def _buffered(self, sock) -> bytes:
        """Bytes the HTTP reader already pulled past the response's headers: the process may
        have written before we took the socket over."""
        response = getattr(sock, "_response", None)
        reader = getattr(getattr(getattr(response, "raw", None), "_fp", None), "fp", None)
        if reader is None or not hasattr(reader, "read1"):
            return b""
        self.sock.setblocking(False)
        try:
            return reader.read1(READ_SIZE) or b""
        except (BlockingIOError, ssl.SSLWantReadError, OSError, ValueError):
            return b""
        finally:
            self.sock.setblocking(True)

    @property
    def tls(self) -> bool:
        return isinstance(self.sock, ssl.SSLSocket)

    def fileno(self) -> int:
        return self.sock.fileno()

    def pending(self) -> bool:
        """Bytes are at hand without waiting (taken before the headers, or inside TLS)."""
        return bool(self._early) or (self.tls and self.sock.pending() > 0)

    def recv(self, size: int = READ_SIZE, timeout: float | None = None) -> bytes:
        """Up to `size` bytes; b"" at the end of the stream; `TimeoutError` after `timeout` s."""
        if self._early:
            data, self._early = self._early[:size], self._early[size:]
            return data
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(size)
        except socket.timeout as exc:
            raise TimeoutError from exc
        except ssl.SSLZeroReturnError:
            return b""

    def send(self, data: bytes) -> None:
        self.sock.settimeout(None)
        self.sock.sendall(data)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for step in (lambda: self.sock.shutdown(socket.SHUT_RDWR), self.sock.close, self._io.close,
                     self._client.close):
            try:
                step()
            except Exception:  # already closed by the other side
                pass


def exec_attach(host, exec_id: str, *, tty: bool) -> ExecSocket:
    """Start a created exec and take over its connection."""
    return ExecSocket(host, exec_id, tty=tty)


class ExecPipe(threading.Thread):
    """Moves bytes between an `ExecSocket` and callbacks, in a thread of its own (TLS sockets
    cannot be read in one thread while written in another, so one thread does both).

    `on_output(bytes)` gets the process's output (payloads only, demultiplexed when there is
    no TTY) and `on_end()` the end of the stream, both called in this thread. `write(bytes)`
    (any thread) queues input. While `backlog` bytes of output are not yet `delivered()`, the
    socket is not read: the process then waits on its own writes, and input still goes through
    (a Ctrl-C reaches a program that floods a slow browser)."""

    def __init__(self, stream: ExecSocket, *, on_output: Callable[[bytes], None], on_end: Callable[[], None],
                 backlog: int = 1 << 20):
        super().__init__(name=f"exec-{stream.exec_id[:12]}", daemon=True)
        self.stream = stream
        self.on_output, self.on_end = on_output, on_end
        self.backlog = backlog
        self._lock = threading.Lock()
        self._out = bytearray()
        self._undelivered = 0
        self._stop = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._demux = None if stream.tty else Demuxer()

    @property
    def unwritten(self) -> int:
        """Input bytes waiting for the process to read them."""
        return len(self._out)

    def write(self, data: bytes) -> None:
        with self._lock:
            self._out += data
        self._wake()

    def delivered(self, size: int) -> None:
        with self._lock:
            self._undelivered -= size
            resume = self._undelivered < self.backlog
        if resume:
            self._wake()

    def stop(self) -> None:
        self._stop = True
        self._wake()

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass  # a wake-up is already pending, or the pipe is gone with the thread

    def run(self) -> None:
        sel = selectors.DefaultSelector()
        sock = self.stream.sock
        try:
            sel.register(self._wake_r, selectors.EVENT_READ)
            sel.register(sock, selectors.EVENT_READ)
            reading = True
            while not self._stop:
                with self._lock:
                    out, self._out = bytes(self._out), bytearray()
                    want_read = self._undelivered < self.backlog
                if out:
                    self.stream.send(out)
                if want_read and not reading:
                    sel.register(sock, selectors.EVENT_READ)
                elif reading and not want_read:
                    sel.unregister(sock)
                reading = want_read
                if reading and self.stream.pending():
                    ready = [(None, selectors.EVENT_READ, sock)]
                else:
                    ready = [(None, mask, key.fileobj) for key, mask in sel.select(timeout=1.0)]
                for _key, _mask, obj in ready:
                    if obj is self._wake_r:
                        try:
                            while os.read(self._wake_r, 4096):
                                pass
                        except BlockingIOError:
                            pass
                        continue
                    data = self.stream.recv(READ_SIZE, timeout=None)
                    if not data:
                        return
                    self._emit(data)
        except (OSError, ValueError):
            return  # the socket was closed under us (the session ended)
        finally:
            sel.close()
            for fd in (self._wake_r, self._wake_w):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.on_end()

    def _emit(self, data: bytes) -> None:
        if self._demux is not None:
            data = b"".join(p for _kind, p in self._demux.feed(data))
            if not data:
                return
        with self._lock:
            self._undelivered += len(data)
        self.on_output(data)


class AsyncExecPipe:
    """`ExecPipe` without a thread, for plain (unix or tcp) sockets: the event loop watches the
    socket and reads and writes it without blocking, so a keystroke and its echo cross no
    thread. `on_output` and `on_end` are called in the loop; every method is called in it."""

    def __init__(self, stream: ExecSocket, *, loop, on_output: Callable[[bytes], None],
                 on_end: Callable[[], None], backlog: int = 1 << 20):
        self.stream, self.loop = stream, loop
        self.on_output, self.on_end = on_output, on_end
        self.backlog = backlog
        self._sock = stream.sock
        self._fd = stream.sock.fileno()
        self._out = bytearray()
        self._undelivered = 0
        self._reading = self._writing = False
        self._done = False
        self._demux = None if stream.tty else Demuxer()

    def start(self) -> None:
        self._sock.setblocking(False)
        early = self.stream.recv(READ_SIZE) if self.stream.pending() else b""
        if early:
            self._emit(early)
        self._read(True)

    @property
    def unwritten(self) -> int:
        """Input bytes waiting for the process to read them."""
        return len(self._out)

    def write(self, data: bytes) -> None:
        if self._done:
            return
        if not self._out:
            try:
                data = data[self._sock.send(data):]
            except BlockingIOError:
                pass
            except OSError:
                return self._finish()
        if data:
            self._out += data
            if not self._writing:
                self.loop.add_writer(self._fd, self._writable)
                self._writing = True

    def delivered(self, size: int) -> None:
        self._undelivered -= size
        if self._undelivered < self.backlog:
            self._read(True)

    def stop(self) -> None:
        """Stop watching the socket (closing it is the session's)."""
        self._done = True
        self._read(False)
        if self._writing:
            self.loop.remove_writer(self._fd)
            self._writing = False

    def _read(self, on: bool) -> None:
        if on and not self._reading and not self._done:
            self.loop.add_reader(self._fd, self._readable)
            self._reading = True
        elif not on and self._reading:
            self.loop.remove_reader(self._fd)
            self._reading = False

    def _readable(self) -> None:
        try:
            data = self._sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            return self._finish()
        self._emit(data)

    def _writable(self) -> None:
        try:
            del self._out[:self._sock.send(self._out)]
        except BlockingIOError:
            return
        except OSError:
            return self._finish()
        if not self._out:
            self.loop.remove_writer(self._fd)
            self._writing = False

    def _emit(self, data: bytes) -> None:
        if self._demux is not None:
            data = b"".join(p for _kind, p in self._demux.feed(data))
            if not data:
                return
        self._undelivered += len(data)
        if self._undelivered >= self.backlog:
            self._read(False)
        self.on_output(data)

    def _finish(self) -> None:
        if not self._done:
            self.stop()
            self.on_end()


def exec_pipe(stream: ExecSocket, *, loop, on_output: Callable[[bytes], None], on_end: Callable[[], None]):
    """The pipe for an attached exec, its callbacks called in `loop`: the loop itself reads
    and writes a plain socket; a TLS socket gets a thread (`ExecPipe`). Call `start()`."""
    if not stream.tls:
        return AsyncExecPipe(stream, loop=loop, on_output=on_output, on_end=on_end)
    return ExecPipe(stream, on_output=lambda data: loop.call_soon_threadsafe(on_output, data),
                    on_end=lambda: loop.call_soon_threadsafe(on_end))


# --- ending an exec --------------------------------------------------------------------------------

def _same_pid_namespace(host) -> bool:
    """Whether pids the engine reports are pids of this machine's /proc: the engine listens on
    a unix socket here and its process shares our pid namespace."""
    path = unix_socket_path(host)
    pid = engine_pid(path) if path else None
    if pid is None:
        return False
    try:
        return os.stat(f"/proc/{pid}/ns/pid").st_ino == os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return False


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(ppid, session id) of a process of this machine, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[1]), int(fields[3])
    except (OSError, IndexError, ValueError):
        return None


def _in_container(pid: int, container_id: str) -> bool:
    try:
        with open(f"/proc/{pid}/cgroup", "rb") as f:
            return container_id.encode() in f.read()
    except OSError:
        return False


def _local_pids(container_id: str, root: int, token: str) -> list[int] | None:
    """Pids of this machine that belong to the exec: its process, every descendant, and every
    process of the container that carries its token (a daemon that left the tree keeps its
    environment). None when `root` is not a process of that container (pid reused, or a cgroup
    namespace that hides the container's id: this machine cannot tell)."""
    if not _in_container(root, container_id):
        return None
    marker = f"{TOKEN_ENV}={token}".encode()
    parents: dict[int, int] = {}
    found = {root}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        stat = _proc_stat(pid)
        if stat is None or not _in_container(pid, container_id):
            continue
        parents[pid] = stat[0]
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker in f.read().split(b"\0"):
                    found.add(pid)
        except OSError:
            pass
    changed = True
    while changed:  # descendants: children of anything found, to the end
        changed = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    return sorted(found)


def _kill_script(token: str) -> list[str]:
    # The token is hex: nothing in it can leave the word. The killer's own environment does
    # not carry the token (only its arguments do), so it never matches itself.
    return ["sh", "-c", f"for f in $(grep -l '{TOKEN_ENV}={token}' /proc/[0-9]*/environ 2>/dev/null); do "
                        f"p=${{f#/proc/}}; kill -KILL ${{p%/environ}} 2>/dev/null; done; true"]


@dataclass
class KillResult:
    """How an exec was ended: `gone` when it is known to run no more; `how` says by what
    means ("exited", "host", "container"); `note` a sentence when it may still run."""

    gone: bool
    how: str
    note: str = ""
    pids: list[int] = field(default_factory=list)


def exec_kill(host, container_id: str, exec_id: str, token: str, *, local: bool | None = None) -> KillResult:
    """End the exec's process and everything it started (SIGKILL).

    On an engine of this machine (a unix socket here, same pid namespace, and the process is in
    the container's cgroup) the processes are found in /proc and killed with `os.kill`;
    otherwise a second exec in the container finds them by their token (`grep`, `kill` and `sh`
    in the image) and kills them. `local` forces one way (tests). Never raises for a process
    that is already gone."""
    try:
        info = exec_inspect(host, exec_id)
    except NotFound:
        return KillResult(True, "exited")
    pid = int(info.get("Pid") or 0)
    if not info.get("Running") or not pid:
        return KillResult(True, "exited")
    if local is None:
        local = _same_pid_namespace(host)
    if local:
        pids = _local_pids(container_id, pid, token)
        if pids is not None:
            try:
                for p in pids:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            except PermissionError:
                pass  # not ours to signal: the container kills them
            else:
                return _confirm(host, exec_id, "host", pids)
    return _container_kill(host, container_id, exec_id, token)


def _container_kill(host, container_id: str, exec_id: str, token: str) -> KillResult:
    try:
        killer, _ = exec_create(host, container_id, cmd=_kill_script(token), user="0")
        code, output = _run_to_end(host, killer, deadline=time.monotonic() + 10)
    except AppError as exc:
        return KillResult(False, "container", f"The command may still run: {exc.message}")
    if code != 0:
        return KillResult(False, "container", "The command may still run: the container cannot kill it "
                                              f"(no sh, grep or kill in its image? {output.strip()[:200]})")
    return _confirm(host, exec_id, "container", [])


def _confirm(host, exec_id: str, how: str, pids: list[int]) -> KillResult:
    try:
        info = exec_wait(host, exec_id, timeout=3.0)
    except NotFound:
        return KillResult(True, how, pids=pids)
    if info.get("Running"):
        return KillResult(False, how, "The command may still run: it did not end after SIGKILL.", pids)
    return KillResult(True, how, pids=pids)


def _run_to_end(host, exec_id: str, *, deadline: float) -> tuple[int | None, str]:
    """Start a created exec without a TTY and read it to its end: (exit code, output)."""
    stream = exec_attach(host, exec_id, tty=False)
    demux, out = Demuxer(), bytearray()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                data = stream.recv(READ_SIZE, timeout=left)
            except TimeoutError:
                break
            if not data:
                break
            for _kind, payload in demux.feed(data):
                out += payload[: max(0, 65536 - len(out))]
    finally:
        stream.close()
    return exec_wait(host, exec_id).get("ExitCode"), out.decode(errors="replace")


# --- a one-off command -------------------------------------------------------------------------------

@dataclass
class ExecResult:
    """What a one-off command did. `exit_code` is None when it was killed at the time limit."""

    exit_code: int | None
    output: str
    truncated: bool
    timed_out: bool
    started: float
    duration: float
    kill: KillResult | None = None


def exec_run(host, container_id: str, *, cmd: list[str], user: str = "", workdir: str = "",
             env: dict[str, str] | None = None, timeout: float = 30.0, max_output: int = 1 << 20) -> ExecResult:
    """Run `cmd` in the container without a TTY and collect stdout and stderr as one text, in
    the order the engine sends them, up to `max_output` bytes (the rest is read and dropped, so
    the command runs to its end). After `timeout` seconds the command and everything it
    started are killed and `exit_code` is None.

    The engine's refusals become 400s on their field: an unknown user (`user`), a working
    directory that does not exist (`workdir`), a command that cannot be run (`cmd`); a container
    that is not running is a 409."""
    started = time.time()
    t0 = time.monotonic()
    deadline = t0 + timeout
    exec_id, token = exec_create(host, container_id, cmd=cmd, user=user, workdir=workdir, env=env)
    stream = exec_attach(host, exec_id, tty=False)
    demux, decoder_bytes = Demuxer(), bytearray()
    truncated = timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            try:
                data = stream.recv(READ_SIZE, timeout=left)
            except TimeoutError:
                timed_out = True
                break
            except OSError as exc:
                raise unreachable(host, exc) from exc
            if not data:
                break
            for _kind, payload in demux.feed(data):
                room = max_output - len(decoder_bytes)
                if len(payload) > room:
                    truncated = True
                decoder_bytes += payload[:max(room, 0)]
    finally:
        stream.close()
    output = bytes(decoder_bytes).decode("utf-8", errors="replace")
    kill = None
    if timed_out:
        kill = exec_kill(host, container_id, exec_id, token)
        code = None
    else:
        info = exec_wait(host, exec_id)
        failure = start_failure(info, output)
        if failure:
            name, sentence = failure
            raise BadRequest(sentence, field=name)
        code = info.get("ExitCode")
        if info.get("Running"):
            # The stream ended but the process did not (it closed its outputs): it still has
            # until the time limit.
            info = exec_wait(host, exec_id, timeout=max(0.0, deadline - time.monotonic()))
            code = info.get("ExitCode")
            if info.get("Running"):
                timed_out, code = True, None
                kill = exec_kill(host, container_id, exec_id, token)
    return ExecResult(exit_code=code, output=output, truncated=truncated, timed_out=timed_out, started=started,
                      duration=time.monotonic() - t0, kill=kill)


__all__ = ["AsyncExecPipe", "Demuxer", "ExecPipe", "exec_pipe", "ExecResult", "ExecSocket", "KillResult", "TOKEN_ENV", "exec_attach",
           "exec_create", "exec_inspect", "exec_kill", "exec_resize", "exec_run", "exec_wait", "start_failure"]
