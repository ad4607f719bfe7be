"""A container's logs as the engine keeps them: lines with their stream and time, read once
(bounded) or followed (a cancellable stream).

`GET /containers/{id}/logs` answers in one of two shapes:
- a container without a TTY: *multiplexed* — frames of an 8-byte header (stream id 1 = stdout,
  2 = stderr, 3 bytes of zero, a big-endian 32-bit length) and the payload. The SDK's own
  reader throws the stream id away, so the frames are split here;
- a container with a TTY: the raw bytes of its terminal, all of it "stdout".

With `timestamps`, the engine starts each log message with its time (RFC 3339, nanoseconds,
then a space). A message is one line, or a piece of one: the engine cuts lines longer than
16 KiB into partial messages, each with its own time, which are put together again here (the
first piece's time is the line's).

The answer is read in large pieces by `streams.BodyStream` (the engine sends every message
as its own HTTP chunk; see there for what that costs otherwise)."""
from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterator

from .streams import BodyStream

STREAMS = {0: "stdout", 1: "stdout", 2: "stderr"}  # 0 is stdin, which the engine never sends here
# A line longer than this is passed on in pieces of this size: no line holds memory unbounded.
MAX_LINE = 1 << 18
_HEADER = struct.Struct(">BxxxL")


# One line: (ts, stream, text). `ts` is the engine's RFC 3339 time of the message when
# timestamps were asked for, else None; `stream` is "stdout" or "stderr"; `text` has no line
# end. Plain tuples: at tens of thousands of lines a second, a NamedTuple's constructor alone
# costs a third of the parsing.
LogLine = tuple


def line_dict(line: LogLine) -> dict:
    return {"ts": line[0], "stream": line[1], "text": line[2]}


class LogParser:
    """Bytes of a logs answer in, `LogLine`s out; pieces may be cut anywhere."""

    def __init__(self, *, tty: bool, timestamps: bool):
        self.tty = tty
        self.timestamps = timestamps
        self._rest = b""  # multiplexed: an unfinished frame; TTY: an unfinished line
        self._partial: dict[int, tuple[str | None, bytearray]] = {}  # stream id → (time, line so far)

    def feed(self, data: bytes) -> list[LogLine]:
        return self._feed_raw(data) if self.tty else self._feed_frames(data)

    def end(self) -> list[LogLine]:
        """What is left when the answer ends: a last line without its line end."""
        out = []
        if self.tty and self._rest:
            out.append(self._tty_line(self._rest))
        self._rest = b""
        for sid, (ts, text) in sorted(self._partial.items()):
            out.append((ts, STREAMS.get(sid, "stdout"), _text(text)))
        self._partial.clear()
        return out

    def _feed_frames(self, data: bytes) -> list[LogLine]:
        if self._rest:
            data = self._rest + data
            self._rest = b""
        out: list[LogLine] = []
        append = out.append
        find = data.find
        unpack = _HEADER.unpack_from
        stamps = self.timestamps
        partial = self._partial
        pos, size = 0, len(data)
        while size - pos >= 8:
            sid, length = unpack(data, pos)
            start = pos + 8
            end = start + length
            if end > size:
                break
            pos = end
            if not length:
                continue
            ts = None
            if stamps:
                space = find(b" ", start, end)
                if space > start:
                    ts = data[start:space].decode("ascii", "replace")
                    start = space + 1
            if data[end - 1] == 10 and not partial and find(b"\n", start, end - 1) < 0:
                # The usual frame: one whole line.
                append((ts, STREAMS.get(sid, "stdout"), data[start:end - 1].decode("utf-8", "replace")))
            else:
                self._message(sid, ts, data[start:end], out)
        if pos < size:
            self._rest = data[pos:]
        return out

    def _message(self, sid: int, ts: str | None, payload: bytes, out: list[LogLine]) -> None:
        """A frame that is a piece of a line, ends one, or (never seen, but allowed) holds several."""
        stream = STREAMS.get(sid, "stdout")
        pending = self._partial.get(sid)
        while payload:
            end = payload.find(b"\n")
            if end < 0:
                if pending is None:
                    pending = self._partial[sid] = (ts, bytearray())
                pending[1].extend(payload)
                if len(pending[1]) >= MAX_LINE:
                    out.append((pending[0], stream, _text(pending[1])))
                    del self._partial[sid]
                return
            line, payload = payload[:end], payload[end + 1:]
            if pending is not None:
                pending[1].extend(line)
                out.append((pending[0], stream, _text(pending[1])))
                del self._partial[sid]
                pending = None
            else:
                out.append((ts, stream, line.decode("utf-8", "replace")))

    def _feed_raw(self, data: bytes) -> list[LogLine]:
        if self._rest:
            data = self._rest + data
        out = []
        start = 0
        find = data.find
        while (end := find(b"\n", start)) >= 0:
            out.append(self._tty_line(data[start:end]))
            start = end + 1
        rest = data[start:]
        if len(rest) >= MAX_LINE:
            out.append(self._tty_line(rest))
            rest = b""
        self._rest = rest
        return out

    def _tty_line(self, raw: bytes) -> LogLine:
        # In a TTY's bytes, message boundaries are lost: a time is taken only at a line's start.
        ts = None
        if self.timestamps:
            head, sep, rest = raw.partition(b" ")
            if sep and head[:1].isdigit() and b"T" in head:
                ts, raw = head.decode("ascii", "replace"), rest
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        return (ts, "stdout", raw.decode("utf-8", "replace"))


def _text(raw) -> str:
    return bytes(raw).decode("utf-8", "replace")


class LogStream:
    """Iterate for lists of `LogLine`s as they come; `close()` from any thread ends the iteration.

    `follow`: the stream stays open and yields new lines as the container writes them (it ends
    when the container stops). Otherwise it ends after what the engine has kept, and a read
    that waits longer than `timeout` seconds raises the 503 of an unreachable engine.

    `tail`: only the last N lines (an int, or "all"); `since`/`until`: unix times (seconds,
    fractions allowed), either may be None. `tty` says which shape the engine answers in
    (the container's `Config.Tty`)."""

    def __init__(self, host, container_id: str, *, tty: bool, follow: bool, tail: int | str = "all",
                 since: float | None = None, until: float | None = None, timestamps: bool = False,
                 stdout: bool = True, stderr: bool = True, timeout: float | None = None):
        self.parser = LogParser(tty=tty, timestamps=timestamps)
        params = {"stdout": int(stdout), "stderr": int(stderr), "follow": int(follow), "timestamps": int(timestamps),
                  "tail": str(tail)}
        if since is not None:
            params["since"] = _unix(since)
        if until is not None:
            params["until"] = _unix(until)
        self._body = BodyStream(host, "/containers/{0}/logs", container_id, params=params,
                                timeout=None if follow else timeout)

    def __iter__(self) -> Iterator[list[LogLine]]:
        parser = self.parser
        for data in self._body:
            lines = parser.feed(data)
            if lines:
                yield lines
        rest = parser.end()
        if rest:
            yield rest

    def close(self) -> None:
        """End the stream (a read blocked in another thread returns at once) and free the connection."""
        self._body.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _unix(t: float) -> str:
    # The engine reads `since`/`until` as seconds with up to nine decimals.
    return f"{t:.9f}".rstrip("0").rstrip(".")


def container_logs(host, container_id: str, *, tty: bool, tail: int | str, since: float | None = None,
                   until: float | None = None, timestamps: bool = False, keep: tuple[str, ...] = ("stdout", "stderr"),
                   max_bytes: int, timeout: float) -> tuple[list[LogLine], bool, int]:
    """The last `tail` lines the engine kept (both streams), of which those of the streams in
    `keep` are returned, oldest first; whether older ones of those were left out to stay
    within `max_bytes` of text (memory stays bounded whatever the engine sends); and how many
    lines the engine sent in all.

    Both streams are always asked for: the engine counts `tail` before it filters by stream,
    so the count of all lines is what tells a caller whether the log's start was reached."""
    kept: deque[LogLine] = deque()
    size = seen = 0
    truncated = False
    with LogStream(host, container_id, tty=tty, follow=False, tail=tail, since=since, until=until,
                   timestamps=timestamps, timeout=timeout) as stream:
        for lines in stream:
            seen += len(lines)
            for line in lines:
                if line[1] in keep:
                    kept.append(line)
                    size += len(line[2]) + 64
            while size > max_bytes and kept:
                size -= len(kept.popleft()[2]) + 64
                truncated = True
    return list(kept), truncated, seen
