"""At most a few HTTP requests of a process run Django's synchronous code at once; the others
wait their turn in the event loop.

Django's ASGI handler runs each request's views and middleware in a thread of its own (one
`ThreadSensitiveContext` per request). Under load a worker held dozens of such threads, all
taking turns on the GIL with the event-loop thread that also serves the websockets and the
channel layer. A thread that asks for the GIL waits a switch interval (5 ms) per thread ahead
of it, so the loop moved one step per dozens of intervals: measured with bench/bench_load.py (2
workers, 50 HTTP clients, 20 sockets), patches reached the sockets 2.7 s after they were
published (p50), most sockets received 4–5 of 100 patches before being told to resync, and the
HTTP throughput was lower than with one request at a time. Requests gain nothing from running
side by side in one process (the GIL runs one at a time); the loop must not starve.

A slot is taken once the request body has been read (a slow upload holds none) and given back
when the response starts (a long download holds none): it covers the view's own work.

Requests that wait on something else than this process's CPU — a command in a container (up
to its 300 s limit), the engine's stats (a second between two readings), a volume's files
through a helper container — take no slot (`waits_elsewhere`): their threads sleep in a socket
read without the GIL, and holding a slot would stall every other request of the process behind
one `sleep 300`."""
from __future__ import annotations

import asyncio
import re

_WAITS = re.compile(r"^/api/hosts/[^/]+/(containers/[^/]+/(exec|stats)|volumes/[^/]+/files(/content|/archive)?)/$")
_FILES_PAGE = re.compile(r"^/volumes/[^/]+/$")


def waits_elsewhere(scope) -> bool:
    """Whether this request's view mostly waits on the engine or a container (see above)."""
    path = scope.get("path", "")
    if _WAITS.match(path):
        return True
    return bool(_FILES_PAGE.match(path)) and b"tab=files" in scope.get("query_string", b"")

SLOTS = 2  # per process: one runs while the next one's thread starts; more only share the GIL


class SyncLimit:
    def __init__(self, app, slots: int = SLOTS):
        self.app = app
        self.slots = slots
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or waits_elsewhere(scope):
            return await self.app(scope, receive, send)
        if self._semaphore is None:  # made in the server's loop
            self._semaphore = asyncio.Semaphore(self.slots)
        semaphore = self._semaphore
        held = False

        async def receive_then_wait():
            nonlocal held
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False) and not held:
                await semaphore.acquire()  # the whole body is in: the view runs next
                held = True
            return message

        async def send_and_free(message):
            nonlocal held
            if message["type"] == "http.response.start" and held:
                held = False
                semaphore.release()
            await send(message)

        try:
            return await self.app(scope, receive_then_wait, send_and_free)
        finally:
            if held:
                semaphore.release()
