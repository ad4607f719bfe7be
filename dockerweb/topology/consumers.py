"""The one websocket (`/ws/topology/`): live topology patches and job progress.

The client sends `{"type": "subscribe", "hosts": [...]}` (and `{"type": "subscribe_job", "job": id}`);
the server sends `topology.patch`, `job.progress` and `subscribed`/`error` messages."""
from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dockerweb.core import live
from dockerweb.core.permissions import Role, may, user_role


class TopologyConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or await database_sync_to_async(user_role)(user) < Role.VIEWER:
            await self.close(code=4403)
            return
        self.joined: set[str] = set()
        self.hosts: set[str] = set()
        await self.accept()

    async def disconnect(self, code):
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
            names = [str(h) for h in content.get("hosts") or [] if isinstance(h, str)]
            ok, refused = await self._allowed_hosts(names)
            for name in ok:
                await self._join(live.host_group(name))
                self.hosts.add(name)
            await self.send_json({"type": "subscribed", "hosts": sorted(self.hosts), "refused": refused})
        elif kind == "subscribe_job":
            await self._join(live.job_group(content.get("job")))
            await self.send_json({"type": "subscribed", "job": content.get("job")})
        else:
            await self.send_json({"type": "error", "detail": "Unknown message type; send {\"type\": \"subscribe\", \"hosts\": [...]}."})

    # --- messages from the channel layer (type `a.b` lands in method `a_b`) ---

    async def mirror_change(self, event):
        """A mirror row changed (from inventory.services.announce). Turned into topology
        patches by the topology app; see `on_mirror_change`."""
        await self.on_mirror_change(event)

    async def on_mirror_change(self, event):
        pass

    async def topology_patch(self, event):
        await self.send_json(event)

    async def job_progress(self, event):
        await self.send_json(event)
