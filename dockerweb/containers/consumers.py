"""The console websocket (`/ws/exec/`): a terminal in the browser on a `docker exec` session.

Protocol (the API contract): the client sends
  {"type": "exec.start", "host", "container", "cmd": [..], "tty": true, "cols", "rows", "user", "workdir"}
then {"type": "exec.input", "data": "<text>"} and {"type": "exec.resize", "cols", "rows"}; the
server sends {"type": "exec.started", "id"}, {"type": "exec.output", "data": "<text>"},
{"type": "exec.exit", "exit_code"} and {"type": "error", "detail", "field"?}. One session per
socket; the socket closes when the session ends.

Input is written to the process as it comes (UTF-8); output is decoded as UTF-8 across chunk
boundaries (invalid bytes become U+FFFD). The engine's socket is read and written by this
event loop itself (`engine.exec.exec_pipe`; a TLS socket in a thread of its own): a keystroke
and its echo cross no thread. Output waits in a buffer to be sent (whatever gathered while the
last message was being sent goes as one), and while a megabyte of it is unsent (a browser that
cannot keep up) the engine is not read, so the process waits instead of this server's memory
growing.

A session ends when its process ends, when the page goes away (the process and everything it
started are killed: closing the attach socket alone would leave the shell running), when no
keystroke came for `CONSOLE_IDLE_SECONDS`, or when the user signs out. Auth and origin rules
are the topology socket's (`core.consumers.SignedInConsumer`, `core.origins`)."""
from __future__ import annotations

import asyncio
import codecs
import logging
import time
from json.encoder import encode_basestring_ascii

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings

from dockerweb.core.consumers import SignedInConsumer
from dockerweb.core.permissions import Role
from dockerweb.core.errors import AppError, BadRequest
from dockerweb.engine.exec import exec_pipe

from . import exec as services

log = logging.getLogger(__name__)

CLOSE_IDLE = 4408


def _in_thread(func):
    """`func` in a pool thread with Django's connection care: opening and ending a session
    wait on the engine (a kill is confirmed for up to seconds), which must not hold up the one
    thread that serves every socket's database calls."""
    return database_sync_to_async(func, thread_sensitive=False)
MAX_INPUT = 1 << 16  # characters per exec.input message (a paste is sent in pieces by the page)
MAX_UNWRITTEN = 1 << 20  # input bytes waiting for a process that does not read them


def _text(content: dict, key: str, *, limit: int = 4096) -> str:
    value = content.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise BadRequest(f"`{key}` must be a text of at most {limit} characters.", field=key)
    return value


def _size(content: dict, key: str, default: int) -> int:
    value = content.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise BadRequest(f"`{key}` must be a whole number from 1 to 1000.", field=key)
    return value


def _command(content: dict) -> list[str]:
    cmd = content.get("cmd", ["sh"])
    if isinstance(cmd, str):
        import shlex

        try:
            cmd = shlex.split(cmd)
        except ValueError as exc:
            raise BadRequest(f"The command cannot be split into words: {exc}.", field="cmd") from None
    if (not isinstance(cmd, list) or not cmd or len(cmd) > 256
            or not all(isinstance(a, str) and a and len(a) <= 4096 and "\x00" not in a for a in cmd)):
        raise BadRequest("`cmd` must be a non-empty list of words, e.g. [\"sh\"].", field="cmd")
    return cmd


class ExecConsumer(SignedInConsumer):
    keep_role = Role.OPERATOR  # a console is an operator's: demoted, the session ends

    async def opened(self) -> None:
        self.session: services.ConsoleSession | None = None
        self.pipe = None
        self.starting = False
        self.resizer: asyncio.Future | None = None
        self.want_size: dict = {}
        self.output: list[bytes] = []  # read from the engine, not yet sent
        self.output_ended = False
        self.output_ready: asyncio.Future | None = None  # the sender waits on it for output
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.last_input = time.monotonic()

    async def closing(self) -> None:
        await self._end(self.close_reason or "closed")

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind == "exec.start":
                await self._start(content)
            elif kind == "exec.input":
                self._input(content)
            elif kind == "exec.resize":
                await self._resize(content)
            else:
                raise BadRequest('Unknown message type; send {"type": "exec.start", …}, then "exec.input" and '
                               '"exec.resize".')
        except AppError as exc:
            await self.send_json({"type": "error", "detail": exc.message, **({"field": exc.field} if exc.field else {})})
        except Exception as exc:  # never a silent dead socket: say so, and keep the details in the log
            log.exception("console message %r failed", kind)
            await self.send_json({"type": "error", "detail": f"Unexpected error ({type(exc).__name__}); see the "
                                                             "server log."})

    async def _start(self, content: dict) -> None:
        if self.session is not None or self.starting:
            raise BadRequest("This socket already runs a session; open another socket for another one.")
        host, container = _text(content, "host", limit=100), _text(content, "container", limit=255)
        if not host:
            raise BadRequest("Name the host.", field="host")
        if not container:
            raise BadRequest("Name the container.", field="container")
        tty = content.get("tty", True)
        if not isinstance(tty, bool):
            raise BadRequest("`tty` must be true or false.", field="tty")
        kwargs = {"cmd": _command(content), "user": _text(content, "user", limit=255),
                  "workdir": _text(content, "workdir"), "tty": tty, "cols": _size(content, "cols", 80),
                  "rows": _size(content, "rows", 24)}
        self.starting = True
        try:
            session = await _in_thread(services.console_open)(
                actor=self.scope["user"], host_name=host, ident=container, **kwargs)
        finally:
            self.starting = False
        self.session = session
        loop = asyncio.get_running_loop()
        self.pipe = exec_pipe(session.stream, loop=loop, on_output=self._output, on_end=self._output_end)
        self.last_input = time.monotonic()
        await self.send_json({"type": "exec.started", "id": session.exec_id})
        self.pipe.start()
        self.tasks.append(asyncio.ensure_future(self._pump()))
        self.tasks.append(asyncio.ensure_future(self._watch_idle()))

    def _input(self, content: dict) -> None:
        if self.pipe is None:
            raise BadRequest("No session runs on this socket; send exec.start first.")
        data = content.get("data")
        if not isinstance(data, str) or len(data) > MAX_INPUT:
            raise BadRequest(f"`data` must be a text of at most {MAX_INPUT} characters.", field="data")
        self.last_input = time.monotonic()
        if self.pipe.unwritten > MAX_UNWRITTEN:  # the process reads none of it: memory is not the sink
            raise BadRequest("The program does not read its input; this input was not sent. Wait, or press Ctrl-C.",
                             field="data")
        self.pipe.write(data.encode("utf-8", errors="replace"))

    async def _resize(self, content: dict) -> None:
        if self.session is None:
            raise BadRequest("No session runs on this socket; send exec.start first.")
        size = {"cols": _size(content, "cols", 80), "rows": _size(content, "rows", 24)}
        self._resize_to(size)

    def _resize_to(self, size: dict) -> None:
        """Resize in the background, the latest size last: messages are handled one at a time,
        and keystrokes must not wait for the engine (which can take seconds to refuse)."""
        self.want_size = size
        if self.resizer is None or self.resizer.done():
            self.resizer = asyncio.ensure_future(self._resizing())
            self.tasks.append(self.resizer)

    async def _resizing(self) -> None:
        while True:
            size = self.want_size
            # Not the database thread: an engine call must not hold up other sockets' queries.
            await sync_to_async(services.console_resize, thread_sensitive=False)(self.session, **size)
            if self.want_size is size:
                return

    def _output(self, data: bytes) -> None:
        """The engine's output (called in the loop as it is read): wakes the sender."""
        self.output.append(data)
        self._wake_sender()

    def _output_end(self) -> None:
        self.output_ended = True
        self._wake_sender()

    def _wake_sender(self) -> None:
        ready = self.output_ready
        if ready is not None and not ready.done():
            ready.set_result(None)

    async def _send_output(self, text: str) -> None:
        # The message `send_json({"type": "exec.output", "data": text})` sends, to the byte, without
        # its detour through a dict and a fresh encoder for every echo of a keystroke.
        await self.send(text_data='{"type": "exec.output", "data": ' + encode_basestring_ascii(text) + "}")

    async def _pump(self) -> None:
        """Output to the page, as it comes: whatever has gathered meanwhile goes as one message."""
        loop = asyncio.get_running_loop()
        while True:
            if not self.output and not self.output_ended:
                self.output_ready = loop.create_future()
                await self.output_ready
            chunks, self.output = self.output, []
            raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            if raw:
                self.session.seen(raw)
                text = self.decoder.decode(raw)
                if text:
                    await self._send_output(text)
                self.pipe.delivered(len(raw))
            if self.output_ended and not self.output:
                tail = self.decoder.decode(b"", final=True)
                if tail:
                    await self._send_output(tail)
                await self._end("exit")
                return

    async def _watch_idle(self) -> None:
        idle = settings.CONSOLE_IDLE_SECONDS
        while True:
            left = idle - (time.monotonic() - self.last_input)
            if left > 0:
                await asyncio.sleep(min(left, 30.0))
                continue
            await self.send_json({"type": "error", "detail": f"The session had no input for {idle:g} s and was "
                                                             "ended; start a new one to go on."})
            await self._end("idle", close_code=CLOSE_IDLE)
            return

    async def _end(self, reason: str, *, close_code: int = 1000) -> None:
        """End the session once (whichever comes first) and tell the page how it ended."""
        session, pipe = getattr(self, "session", None), getattr(self, "pipe", None)
        if session is None or getattr(self, "ending", False):
            return
        self.ending = True  # here, in the loop: the pump (end of stream) and the idle watch race
        if pipe is not None:
            pipe.stop()
        try:
            answer = await _in_thread(services.console_end)(session, reason=reason)
        except Exception:  # the log row could not be written: the session is over all the same
            log.exception("ending console session %s failed", session.exec_id[:12])
            answer = {"exit_code": None}
        if reason in ("closed", "signed out"):
            return  # the page is gone, or is being closed
        if answer.get("field"):
            await self.send_json({"type": "error", "detail": answer["detail"], "field": answer["field"]})
        elif answer.get("note"):
            await self.send_json({"type": "error", "detail": answer["note"]})
        await self.send_json({"type": "exec.exit", "exit_code": answer.get("exit_code")})
        await self.close(code=close_code)
