"""The one websocket (`/ws/topology/`): live topology patches and job progress.

The client sends `{"type": "subscribe", "hosts": [...]}` (and `{"type": "subscribe_job", "job": id}`);
the server sends `topology.patch`, `job.progress` and `subscribed`/`error` messages.

Mirror changes of the subscribed hosts are gathered for a few milliseconds and turned into one
`topology.patch` per host (`services.topology_patch`). A token bucket paces the flushes: a lone
change leaves after ~`FIRST_DELAY`; in a burst, after `BURST` quick flushes, at most one flush
per `MIN_INTERVAL` seconds carries everything that arrived meanwhile.

Security: anonymous users and users without a role are refused before the handshake
completes; foreign origins are refused by `AllowedHostsOriginValidator` (asgi.py); hosts are
checked with `may` on subscribe; a socket is closed when its session signs out (signal
`user_logged_out` → group `session.<key>`) and when a periodic check finds the session gone."""
from __future__ import annotations

import asyncio
import logging
import re

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dockerweb.core import live
from dockerweb.core.permissions import Role, may, user_role

from . import services
from .live import session_group

log = logging.getLogger(__name__)

FIRST_DELAY = 0.005  # gather the messages one engine action causes (e.g. connect: network + container)
MIN_INTERVAL = 0.1  # at most ten patches a second per socket during bursts
BURST = 3  # quick flushes allowed before pacing starts
SESSION_CHECK_EVERY = 30.0
CLOSE_SIGNED_OUT = 4401
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class TopologyConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or await database_sync_to_async(user_role)(user) < Role.VIEWER:
            await self.close(code=4403)
            return
        self.joined: set[str] = set()
        self.hosts: set[str] = set()
        self.states: dict[str, services.TopologyState] = {}
        self.pending: dict[str, set[tuple[str, str]]] = {}
        self.flusher: asyncio.Task | None = None
        self.tokens, self.tokens_at = float(BURST), 0.0
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        if self.session_key:
            await self._join(session_group(self.session_key))
        await self.accept()
        self.watchdog = asyncio.ensure_future(self._watch_session())

    async def disconnect(self, code):
        for task in (getattr(self, "flusher", None), getattr(self, "watchdog", None)):
            if task is not None and not task.done():
                task.cancel()
        for group in getattr(self, "joined", set()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _join(self, group: str) -> None:
        if group not in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.add(group)

    @database_sync_to_async
    def _allowed_hosts(self, names: list[str]) -> tuple[list[str], list[str]]:
        from dockerweb.inventory.models import Host

        user = self.scope["user"]
        known = {h.name: h for h in Host.objects.filter(name__in=names)}
        ok = [n for n in names if n in known and may(user, "read", known[n])]
        return ok, [n for n in names if n not in ok]

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "subscribe":
            hosts = content.get("hosts")
            names = [h for h in hosts if isinstance(h, str)][:100] if isinstance(hosts, list) else []
            ok, refused = await self._allowed_hosts(names)
            for name in ok:
                await self._join(live.host_group(name))
                self.hosts.add(name)
                if name not in self.states:
                    self.states[name] = await database_sync_to_async(self._load_state)(name)
            await self.send_json({"type": "subscribed", "hosts": sorted(self.hosts), "refused": refused})
        elif kind == "subscribe_job":
            job = content.get("job")
            if isinstance(job, bool) or not isinstance(job, (int, str)) or not _JOB_ID.match(str(job)):
                await self.send_json({"type": "error", "detail": "`job` must be a job id."})
                return
            await self._join(live.job_group(job))
            await self.send_json({"type": "subscribed", "job": job})
        else:
            await self.send_json({"type": "error", "detail": "Unknown message type; send {\"type\": \"subscribe\", \"hosts\": [...]}."})

    # --- messages from the channel layer (type `a.b` lands in method `a_b`) ---

    async def mirror_change(self, event):
        """A mirror row changed (from inventory.services.announce). Turned into topology
        patches by the topology app; see `on_mirror_change`."""
        await self.on_mirror_change(event)

    async def on_mirror_change(self, event):
        host = event.get("host")
        if host not in self.states:
            return
        self.pending.setdefault(host, set()).add((str(event.get("kind")), str(event.get("id"))))
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.ensure_future(self._flush())

    async def _flush(self):
        loop = asyncio.get_running_loop()
        while self.pending:
            now = loop.time()
            self.tokens = min(float(BURST), self.tokens + (now - self.tokens_at) / MIN_INTERVAL)
            self.tokens_at = now
            delay = FIRST_DELAY if self.tokens >= 1 else max(FIRST_DELAY, (1 - self.tokens) * MIN_INTERVAL)
            await asyncio.sleep(delay)
            pending, self.pending = self.pending, {}
            for host, changes in pending.items():
                state = self.states.get(host)
                if state is None:
                    continue
                try:
                    # Not thread-sensitive: a read that must not queue behind the page views
                    # sharing the main sync thread.
                    ops = await database_sync_to_async(services.topology_patch, thread_sensitive=False)(
                        state=state, changes=changes)
                except Exception:  # a failed read must not kill the socket; the next reconcile repairs
                    log.exception("topology patch for %s failed", host)
                    continue
                if ops:
                    await self.send_json({"type": "topology.patch", "host": host, "ops": ops})
            now = loop.time()
            self.tokens = min(float(BURST), self.tokens + (now - self.tokens_at) / MIN_INTERVAL) - 1
            self.tokens_at = now

    @staticmethod
    def _load_state(name: str) -> services.TopologyState:
        from dockerweb.inventory.models import Host

        return services.topology_state_load(host=Host.objects.get(name=name))

    # --- sign-out ---

    async def session_logout(self, event):
        await self.close(code=CLOSE_SIGNED_OUT)

    @database_sync_to_async
    def _signed_in(self) -> bool:
        from importlib import import_module

        from django.conf import settings

        from django.contrib.auth import get_user_model

        user = self.scope.get("user")
        fresh = get_user_model().objects.filter(pk=getattr(user, "pk", None)).first()
        if fresh is None or user_role(fresh) < Role.VIEWER:
            return False
        if not self.session_key:
            return True
        # load() gives {} for a session that is gone or expired.
        data = import_module(settings.SESSION_ENGINE).SessionStore(self.session_key).load()
        return str(data.get("_auth_user_id", "")) == str(fresh.pk)

    async def _watch_session(self):
        """Sessions can also end without a sign-out (expiry, deletion, a lost role)."""
        while True:
            await asyncio.sleep(SESSION_CHECK_EVERY)
            try:
                ok = await self._signed_in()
            except Exception:
                continue
            if not ok:
                await self.close(code=CLOSE_SIGNED_OUT)
                return

    async def topology_patch(self, event):
        await self.send_json(event)

    async def job_progress(self, event):
        await self.send_json(event)
