"""A real websocket client (the `websockets` package) for attacks on dockerweb's sockets as
served by daphne, and the session cookies of real accounts to attack with."""
from __future__ import annotations

import asyncio
import json
from tests.support.aio import run_async
from urllib.parse import urlsplit

import websockets
from django.conf import settings
from django.test import Client


def session_cookie(user) -> str:
    """A `Cookie:` header value carrying a fresh session of `user` (made by `make_user`)."""
    client = Client()
    assert client.login(username=user.username, password=user.test_password)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def run(coro):
    """Run `coro` in its own thread and loop (Playwright's sync API may own this thread's loop)."""
    return run_async(coro)


def handshake(base_url: str, *, origin: str | None, cookie: str, host: str | None = None,
              headers: dict | None = None) -> int | dict:
    """Open /ws/topology/ on the daphne at `base_url` as a browser would from `origin`, subscribe
    to host `local` and return the server's first message; or the HTTP status that refused the
    handshake (403). `host` replaces the Host header (the connection still goes to `base_url`)."""
    server = urlsplit(base_url)
    url = f"ws://{host or server.netloc}/ws/topology/"

    async def attempt():
        try:
            async with websockets.connect(url, host=server.hostname, port=server.port, origin=origin,
                                          additional_headers={"Cookie": cookie, **(headers or {})},
                                          open_timeout=10, proxy=None) as ws:
                await ws.send(json.dumps({"type": "subscribe", "hosts": ["local"]}))
                return json.loads(await asyncio.wait_for(ws.recv(), 10))
        except websockets.InvalidStatus as exc:
            return exc.response.status_code

    return run(attempt())
