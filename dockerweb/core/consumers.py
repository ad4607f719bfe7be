"""What every websocket of dockerweb shares: who may open one, and that it closes when its
session ends.

`SignedInConsumer` refuses anonymous users and users without a role before the handshake
completes (close code 4403); foreign origins never get this far (`core.origins`, asgi.py). An
accepted socket joins its session's group, so a sign-out (signal `user_logged_out` → group
`session.<key>`) closes it with 4401, and a periodic check closes it when the session expired,
was deleted, or its user lost every role. The same rules as `/ws/topology/`."""
from __future__ import annotations

import asyncio
import functools
import logging
from importlib import import_module

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.sessions import InstanceSessionWrapper, SessionMiddleware

from dockerweb.core import live
from dockerweb.core.permissions import Role, user_role

CLOSE_FORBIDDEN = 4403
CLOSE_SIGNED_OUT = 4401
CLOSE_FAILED = 1011  # the consumer failed (passed to its own `disconnect` before the error goes on)

log = logging.getLogger(__name__)


class WebsocketSessionMiddleware(SessionMiddleware):
    """Channels' `SessionMiddleware` (the session in the scope, from the cookie), without its
    wrapper around a websocket's `send`: that wrapper saves a changed session on
    `http.response.start` only, so on a websocket all it does is look the session up twice
    (lazily, each by a caught AttributeError) before passing on every message, each echo of a
    console's keystrokes among them."""

    async def __call__(self, scope, receive, send):
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, send if scope["type"] == "websocket" else wrapper.send)


class SignedInConsumer(AsyncJsonWebsocketConsumer):
    """Subclasses add their work in `opened()` / `closing()` and keep the socket's tasks in
    `self.tasks` (cancelled when it closes)."""

    session_check_every = 30.0
    # The role the socket needs to stay open: checked every `session_check_every` seconds, so
    # an account demoted below it loses the socket as a signed-out one does.
    keep_role = Role.VIEWER
    close_reason: str | None = None  # "signed out" when the session ended it
    disconnected = False  # `disconnect` has run

    async def __call__(self, scope, receive, send):
        """Channels' `AsyncConsumer.__call__` with a lighter message loop. Channels waits for the
        socket's next message and the channel layer's through a fresh task and `asyncio.wait`
        for every message (a keystroke of a console pays for both); here the socket is awaited
        directly and the layer in a task of its own. As in channels, handlers run one at a time
        (a lock), and a failure of either side ends the consumer with its error once no handler
        runs; before it does, the socket's own `disconnect` runs (a console's shell is ended and
        logged, not left running as it would be when channels' loop fails)."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
        self.base_send = send
        try:
            await self._serve(receive)
        except StopConsumer:
            pass
        except Exception:
            if hasattr(self, "tasks") and not self.disconnected:
                try:
                    await self.disconnect(CLOSE_FAILED)
                except Exception:
                    log.exception("cleaning up after a failed websocket consumer failed too")
            raise

    async def _serve(self, receive) -> None:
        turn = asyncio.Lock()
        this = asyncio.current_task()
        receiving = False
        layer_end: list[BaseException | None] = []  # how the layer's side ended, once it has

        async def from_layer():
            while True:
                message = await self.channel_receive()
                async with turn:
                    await self.dispatch(message)

        def on_layer_end(task: asyncio.Task) -> None:
            if task.cancelled():
                return
            layer_end.append(task.exception())
            if receiving:
                this.cancel()  # stop waiting for the socket (a handler that runs is left to finish)

        layer = None
        if self.channel_layer is not None:
            layer = asyncio.ensure_future(from_layer())
            layer.add_done_callback(on_layer_end)
        try:
            while not layer_end:
                receiving = True
                try:
                    message = await receive()
                finally:
                    receiving = False
                async with turn:
                    if layer_end:
                        break
                    await self.dispatch(message)
        except asyncio.CancelledError:
            if not layer_end:
                raise
            this.uncancel()
        finally:
            if layer is not None:
                layer.remove_done_callback(on_layer_end)
                layer.cancel()
                try:
                    await layer
                except (asyncio.CancelledError, Exception):  # its end is dealt with here
                    pass
        if layer_end and layer_end[0] is not None:
            raise layer_end[0]

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or await database_sync_to_async(user_role)(user) < Role.VIEWER:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.groups_joined: set[str] = set()
        self.tasks: list[asyncio.Task] = []
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        if self.session_key:
            await self.join(live.session_group(self.session_key))
        await self.accept()
        self.tasks.append(asyncio.ensure_future(self._watch_session()))
        await self.opened()

    async def dispatch(self, message):
        """Channels' own dispatch first runs `close_old_connections` in the one thread shared by
        every socket's database calls, for every message: a thread hop (a quarter of a
        millisecond when idle, longer while that thread serves another socket's query) before
        each keystroke of a console. These consumers touch the database only through
        `database_sync_to_async`, which closes old connections itself in the thread it runs
        in, so that hop is skipped."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def opened(self) -> None:
        """The socket is accepted."""

    async def closing(self) -> None:
        """The socket is closing (the page went away, a sign-out, or the server closed it)."""

    async def disconnect(self, code):
        self.disconnected = True
        try:
            if hasattr(self, "tasks"):
                await self.closing()
        finally:
            for task in getattr(self, "tasks", ()):
                if not task.done() and task is not asyncio.current_task():
                    task.cancel()
            for group in getattr(self, "groups_joined", set()):
                await self.channel_layer.group_discard(group, self.channel_name)

    async def join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)

    # --- sign-out ---

    async def session_logout(self, event):
        self.close_reason = "signed out"
        await self.close(code=CLOSE_SIGNED_OUT)

    @database_sync_to_async
    def _signed_in(self) -> bool:
        from django.conf import settings
        from django.contrib.auth import get_user_model

        user = self.scope.get("user")
        fresh = get_user_model().objects.filter(pk=getattr(user, "pk", None)).first()
        if fresh is None or user_role(fresh) < self.keep_role:
            return False
        if not self.session_key:
            return True
        # load() gives {} for a session that is gone or expired.
        data = import_module(settings.SESSION_ENGINE).SessionStore(self.session_key).load()
        return str(data.get("_auth_user_id", "")) == str(fresh.pk)

    async def _watch_session(self):
        """Sessions also end without a sign-out (expiry, deletion, a lost role)."""
        while True:
            await asyncio.sleep(self.session_check_every)
            try:
                ok = await self._signed_in()
            except Exception:
                continue
            if not ok:
                self.close_reason = "signed out"
                await self.close(code=CLOSE_SIGNED_OUT)
                return
