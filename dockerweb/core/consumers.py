"""What every websocket of dockerweb shares: who may open one, and that it closes when its
session ends.

`SignedInConsumer` refuses anonymous users and users without a role before the handshake
completes (close code 4403); foreign origins never get this far (`core.origins`, asgi.py). An
accepted socket joins its session's group, so a sign-out (signal `user_logged_out` → group
`session.<key>`) closes it with 4401, and a periodic check closes it when the session expired,
was deleted, or its user lost every role. The same rules as `/ws/topology/`."""
from __future__ import annotations

import asyncio
from importlib import import_module

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dockerweb.core import live
from dockerweb.core.permissions import Role, user_role

CLOSE_FORBIDDEN = 4403
CLOSE_SIGNED_OUT = 4401


class SignedInConsumer(AsyncJsonWebsocketConsumer):
    """Subclasses add their work in `opened()` / `closing()` and keep the socket's tasks in
    `self.tasks` (cancelled when it closes)."""

    session_check_every = 30.0
    # The role the socket needs to stay open: checked every `session_check_every` seconds, so
    # an account demoted below it loses the socket as a signed-out one does.
    keep_role = Role.VIEWER
    close_reason: str | None = None  # "signed out" when the session ended it

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
