"""The logs websocket (`/ws/logs/`): a container's log, live.

Protocol (the API contract): the client sends
  {"type": "follow", "host", "container", "tail", "acks"?}
(tail: lines of the past first, 0-10000, default 100) and the server answers
{"type": "following", "container", "tty"}, then
  {"type": "logs.lines", "lines": [{ts, stream, text}, ...], "dropped": n}
about every 50 ms while there are new lines, at most 500 lines a message (a page parses each in
a short task and stays free for its user's clicks). `dropped` counts the lines left out just
before these (since the previous message) because the reader took them slower than the
container wrote them. When the log ends (the container stopped), {"type": "logs.end", "reason"}.
{"type": "stop"} stops following; a new "follow" replaces the current one. Errors are
{"type": "error", "detail", "field"?}.

How a slow reader is noticed:
- always: sending waits when the connection cannot take more (the web server's write buffer
  is full);
- with `"acks": true` (the logs page): the client answers each logs.lines with {"type": "ack"}
  once it has taken the lines in, and no more than MAX_UNACKED messages are ever on their way.
  A browser busy elsewhere, or behind a slow link, is then noticed within a second, not once
  megabytes of (compressed) lines have filled the buffers between: what it shows stays live.
Meanwhile the engine's stream keeps being read, in a thread, into a bounded buffer
(`logs.LogFollower`) whose oldest lines go — counted, and reported with the next message.
Memory per socket stays bounded whatever the container does.

Auth and origin rules are the topology socket's (`core.consumers.SignedInConsumer`,
`core.origins`); the container's host is judged by `may` (`container.logs`, a read)."""
from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async

from dockerweb.core.consumers import SignedInConsumer
from dockerweb.core.errors import AppError, BadRequest
from dockerweb.engine.logs import line_dict

from . import logs as services

MAX_UNACKED = 16


def _in_thread(func):
    # Opening a follow asks the engine (an inspect, the stream): never in the one thread that
    # serves every socket's database calls.
    return database_sync_to_async(func, thread_sensitive=False)


def _follow_request(content: dict) -> tuple[str, str, int, bool]:
    host, container = content.get("host"), content.get("container")
    tail, acks = content.get("tail", 100), content.get("acks", False)
    if not isinstance(host, str) or not host or len(host) > 255:
        raise BadRequest("Name the host (`host`).", field="host")
    if not isinstance(container, str) or not container or len(container) > 255:
        raise BadRequest("Name the container (`container`).", field="container")
    if isinstance(tail, bool) or not isinstance(tail, int) or not 0 <= tail <= services.MAX_TAIL:
        raise BadRequest(f"`tail` must be a whole number from 0 to {services.MAX_TAIL}.", field="tail")
    if not isinstance(acks, bool):
        raise BadRequest("`acks` is true or false.", field="acks")
    return host, container, tail, acks


class LogsConsumer(SignedInConsumer):
    follower: services.LogFollower | None = None
    pump: asyncio.Task | None = None
    acks = False
    unacked = 0

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind == "ack":
                self.unacked = max(0, self.unacked - 1)
            elif kind == "follow":
                await self._follow(*_follow_request(content))
            elif kind == "stop":
                await self._stop()
            else:
                raise BadRequest('Unknown message type; send {"type": "follow", "host", "container", "tail"}.',
                                 field="type")
        except AppError as exc:
            await self.send_json({"type": "error", **exc.as_dict()})

    async def _follow(self, host: str, container: str, tail: int, acks: bool) -> None:
        await self._stop()
        user = self.scope["user"]
        info, log = await _in_thread(services.follow_open)(user=user, host_name=host, ident=container, tail=tail)
        self.follower = services.LogFollower(log)
        self.acks, self.unacked = acks, 0
        await self.send_json({"type": "following", "container": info["name"], "tty": info["tty"]})
        self.pump = asyncio.ensure_future(self._pump(self.follower))
        self.tasks.append(self.pump)

    async def _send_lines(self, lines: list, dropped: int) -> None:
        await self.send_json({"type": "logs.lines", "lines": [line_dict(x) for x in lines], "dropped": dropped})
        self.unacked += 1

    async def _pump(self, follower: services.LogFollower) -> None:
        step = services.FOLLOW_MESSAGE_LINES
        while True:
            await asyncio.sleep(services.FOLLOW_BATCH_SECONDS)
            if self.acks and self.unacked >= MAX_UNACKED:
                continue  # the reader is behind: lines wait (and the oldest go, counted) in the buffer
            ended = follower.ended  # read before taking, so no line comes after the last take
            lines, dropped = follower.take()
            if not lines and dropped:
                await self._send_lines([], dropped)
            for at in range(0, len(lines), step):
                if self.acks and at and self.unacked >= MAX_UNACKED:
                    follower.give_back(lines[at:])  # taken again next time (or dropped, counted)
                    ended = False
                    break
                await self._send_lines(lines[at:at + step], dropped if at == 0 else 0)
            if ended:
                await self.send_json({"type": "logs.end",
                                      "reason": follower.error or "The log ended: the container stopped."})
                return

    async def _stop(self) -> None:
        follower, pump = self.follower, self.pump
        self.follower = self.pump = None
        if pump is not None and not pump.done():
            pump.cancel()
        if follower is not None:
            await _in_thread(follower.close)()

    async def closing(self) -> None:
        await self._stop()
