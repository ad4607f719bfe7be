"""A container's logs: read (bounded), downloaded as text (streamed), and followed live.

Logs are reads (`container.logs`): the viewer role is enough for every container, also one
that holds doors to the host (privileged, a host namespace, binds): reading what it printed
opens none of them. Viewers read everything and change nothing (DESIGN, roles).

Following keeps up with a chatty container without letting a slow browser hold the server's
memory: `LogFollower` reads the engine's stream in a thread into a buffer of at most
`FOLLOW_BUFFER_LINES` lines; the socket takes what is there every `FOLLOW_BATCH_SECONDS`.
When the browser reads slower than the container writes, the sender waits on the socket,
the buffer fills, and the oldest waiting lines are dropped — counted, and the count is sent
with the next lines (`dropped`), never silently."""
from __future__ import annotations

import asyncio
import re
import threading
from collections import deque
from datetime import datetime, timezone

from django.conf import settings

from dockerweb.core.errors import NotFound
from dockerweb.core.services import permission_check
from dockerweb.engine import logs as engine_logs
from dockerweb.engine.logs import LogLine, LogStream, line_dict
from dockerweb.inventory.services import container_fetch

MAX_TAIL = 10000
DEFAULT_TAIL = 1000
# Lines of both streams looked at, at most, to find the last `tail` lines of one of them.
SCAN_MAX = 1_000_000
# Text kept for one answer of the logs API; older lines beyond it are left out (`truncated`).
MAX_BYTES = 8 << 20
FOLLOW_BUFFER_LINES = 20000
FOLLOW_BATCH_SECONDS = 0.05
FOLLOW_MESSAGE_LINES = 500
DOWNLOAD_CHUNK = 1 << 16

# Names and ids as the engine makes them; anything else is no container (and never reaches the
# engine's URL).
_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")


def container_for_read(*, user, host, ident: str, action: str) -> dict:
    """The engine's inspect of container `ident` on `host`, after checking that `user` may do
    the read `action` there (403, logged, if not; 404 for a container that does not exist)."""
    permission_check(user=user, action=action, host=host, target=ident)
    name = (ident or "").lstrip("/")
    if not _IDENT.fullmatch(name):
        raise NotFound(f"Host {host.name!r} has no container {ident!r}.")
    return container_fetch(host=host, ident=name)[1]


def _stream_flags(stream: str) -> dict:
    return {"stdout": stream in ("stdout", "both"), "stderr": stream in ("stderr", "both")}


def _window(since: float | None, until: float | None) -> tuple[float | None, float | None, bool]:
    """The engine's `since`/`until` (it reads 0 as "no bound"), and whether the window is empty."""
    if since is not None and since <= 0:
        since = None
    if until is not None and (until <= 0 or (since is not None and until < since)):
        return since, until, True
    return since, until, False


def container_logs(*, user, host, ident: str, tail: int = DEFAULT_TAIL, since: float | None = None,
                   until: float | None = None, timestamps: bool = False, stream: str = "both") -> dict:
    """`{container, tty, lines: [{ts, stream, text}], truncated}`: the last `tail` lines of the
    chosen stream(s) within since/until (unix seconds). `truncated`: older lines of those were
    left out to keep the answer within MAX_BYTES of text."""
    raw = container_for_read(user=user, host=host, ident=ident, action="container.logs")
    tty = bool((raw.get("Config") or {}).get("Tty"))
    since, until, empty = _window(since, until)
    tail = min(max(tail, 0), MAX_TAIL)
    keep = ("stdout", "stderr") if stream == "both" else (stream,)
    lines, truncated = [], False
    if not empty and tail and not (tty and stream == "stderr"):
        # The engine counts `tail` over both streams before it filters: for one stream, look
        # further back until `tail` of its lines are found, the log's start is reached, or
        # SCAN_MAX lines were looked at.
        ask = tail
        while True:
            lines, truncated, seen = engine_logs.container_logs(
                host, raw["Id"], tty=tty, tail=ask, since=since, until=until, timestamps=timestamps, keep=keep,
                max_bytes=MAX_BYTES, timeout=settings.DOCKER_TIMEOUT)
            if len(lines) >= tail or seen < ask or ask >= SCAN_MAX or truncated:
                break
            ask = min(ask * 8, SCAN_MAX)
        lines = lines[-tail:]
    return {"container": raw.get("Name", "").lstrip("/"), "tty": tty, "lines": [line_dict(x) for x in lines],
            "truncated": truncated}


def container_logs_download(*, user, host, ident: str, since: float | None = None, until: float | None = None,
                            timestamps: bool = False, stream: str = "both") -> tuple[str, object]:
    """The file name and an async iterator of the whole log (within since/until) as text, as
    `docker logs` prints it (a line per line, its time first with `timestamps`), streamed from
    the engine: memory stays flat however long the log. The engine is asked before this
    returns, so a refusal is an error answer, not a cut download."""
    raw = container_for_read(user=user, host=host, ident=ident, action="container.logs")
    name = raw.get("Name", "").lstrip("/") or raw["Id"][:12]
    filename = f"{name}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}.log"
    since, until, empty = _window(since, until)
    if empty:
        return filename, _empty()
    log = LogStream(host, raw["Id"], tty=bool((raw.get("Config") or {}).get("Tty")), follow=False, tail="all",
                    since=since, until=until, timestamps=timestamps, timeout=settings.DOCKER_TIMEOUT,
                    **_stream_flags(stream))
    return filename, _text_chunks(log, timestamps)


async def _empty():
    return
    yield  # an async generator with nothing in it


def _next_text(lines, timestamps: bool) -> bytes:
    """Up to about DOWNLOAD_CHUNK bytes of text from the batches of `lines` (b"" at the end)."""
    out: list[str] = []
    size = 0
    for batch in lines:
        if timestamps:
            out.extend(f"{ts} {text}\n" if ts else f"{text}\n" for ts, _, text in batch)
        else:
            out.extend(f"{text}\n" for _, _, text in batch)
        size += sum(len(x) for x in out[-len(batch):])
        if size >= DOWNLOAD_CHUNK:
            break
    return "".join(out).encode()


async def _text_chunks(log: LogStream, timestamps: bool):
    batches = iter(log)
    try:
        while chunk := await asyncio.to_thread(_next_text, batches, timestamps):
            yield chunk
    finally:
        log.close()  # also when the download is cut: the engine's answer stops at once


def follow_open(*, user, host_name: str, ident: str, tail: int) -> tuple[dict, LogStream]:
    """Start following container `ident`'s log (its last `tail` lines first): the container's
    `{id, name, tty}` and the engine's stream, to be closed by the caller."""
    from dockerweb.inventory.selectors import host_get

    host = host_get(name=host_name)
    raw = container_for_read(user=user, host=host, ident=ident, action="container.logs")
    tty = bool((raw.get("Config") or {}).get("Tty"))
    log = LogStream(host, raw["Id"], tty=tty, follow=True, tail=min(max(tail, 0), MAX_TAIL), timestamps=True)
    return {"id": raw["Id"], "name": raw.get("Name", "").lstrip("/"), "tty": tty}, log


class LogFollower:
    """Reads a following `LogStream` in a thread into a bounded buffer.

    `take()` hands over what is waiting and how many lines were dropped since the last take:
    the buffer keeps the newest `capacity` lines (a live view wants what is happening now).
    `ended` turns true when the stream ends (the container stopped, the engine went away:
    `error` says which); `close()` stops the reading thread."""

    def __init__(self, log: LogStream, *, capacity: int = FOLLOW_BUFFER_LINES):
        self._log = log
        self._lines: deque[LogLine] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._dropped = 0
        self.produced = 0
        self.ended = False
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="logs-follow", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        lines = self._lines
        capacity = lines.maxlen
        try:
            for batch in self._log:
                with self._lock:
                    over = len(lines) + len(batch) - capacity
                    if over > 0:
                        self._dropped += over
                    lines.extend(batch)  # a full deque lets its oldest go
                    self.produced += len(batch)
        except Exception as exc:  # an AppError (engine away) or a cut connection
            self.error = getattr(exc, "message", None) or f"The log stream broke ({type(exc).__name__})."
        finally:
            self.ended = True

    def take(self) -> tuple[list[LogLine], int]:
        with self._lock:
            lines = list(self._lines)
            self._lines.clear()
            dropped, self._dropped = self._dropped, 0
        return lines, dropped

    def give_back(self, lines: list[LogLine]) -> None:
        """Put lines taken but not sent back in front (as many as fit; the oldest of them are
        dropped, counted, when the buffer has filled meanwhile)."""
        with self._lock:
            room = max(0, (self._lines.maxlen or 0) - len(self._lines))
            kept = lines[len(lines) - room:] if room < len(lines) else lines
            self._dropped += len(lines) - len(kept)
            self._lines.extendleft(reversed(kept))

    def close(self) -> None:
        self._log.close()
        self._thread.join(timeout=5)
