"""The one websocket (`/ws/topology/`): live topology patches and job progress.

The client sends `{"type": "subscribe", "hosts": [...]}` (and `{"type": "subscribe_job", "job": id}`);
the server sends `subscribed` (with the `seq` each host is at), `topology.patch` {host, seq, ops},
`topology.resync` {host}, `job.progress` and `error` messages.

Patches are made once per host by the host's producer (`topology.producer`) and only passed on
here, as they come. Each carries `seq`, +1 per patch of its host: a socket that sees a gap (the
channel layer dropped messages it could not deliver in time) tells its client to resync, and so
does a socket whose host moved on while nothing reached it (checked every `SEQ_CHECK_EVERY`
seconds against the producer's count): nothing is trusted to arrive, and no client is left
silently stale. The client refetches the graph from the API (whose answer says the `seq` it
shows) and applies only later patches.

Security: who may open the socket and when it closes are `core.consumers.SignedInConsumer`'s
rules (shared by every socket); hosts are checked with `may` on subscribe."""
from __future__ import annotations

import asyncio
import logging
import re

from channels.db import database_sync_to_async

from dockerweb.core import live
from dockerweb.core.consumers import SignedInConsumer
from dockerweb.core.permissions import may

log = logging.getLogger(__name__)

SEQ_CHECK_EVERY = 2.0
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")


class TopologyConsumer(SignedInConsumer):
    async def opened(self) -> None:
        self.seqs: dict[str, int] = {}  # host → seq of the last patch passed on (or known when subscribing)
        self.tasks.append(asyncio.ensure_future(self._watch_seqs()))

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
            new = [n for n in ok if n not in self.seqs]
            for name in new:
                await self.join(live.host_group(name))
            for name, seq in (await live.atopology_seqs(new)).items():
                self.seqs[name] = seq
            await self.send_json({"type": "subscribed", "hosts": sorted(self.seqs), "refused": refused,
                                  "seq": dict(self.seqs)})
        elif kind == "subscribe_job":
            job = content.get("job")
            if isinstance(job, bool) or not isinstance(job, (int, str)) or not _JOB_ID.match(str(job)):
                await self.send_json({"type": "error", "detail": "`job` must be a job id."})
                return
            await self.join(live.job_group(job))
            await self.send_json({"type": "subscribed", "job": job})
        else:
            await self.send_json({"type": "error", "detail": "Unknown message type; send {\"type\": \"subscribe\", \"hosts\": [...]}."})

    # --- messages from the channel layer (type `a.b` lands in method `a_b`) ---

    async def topology_patch(self, event):
        host, seq = event.get("host"), event.get("seq")
        last = self.seqs.get(host)
        if last is None or not isinstance(seq, int):
            return  # not (or no longer) subscribed
        if seq <= last:
            return  # older than what the client was told it has
        if seq > last + 1:
            await self._resync(host, seq - 1)  # patches were lost on the way here
        self.seqs[host] = seq
        await self.send_json(event)

    async def topology_resync(self, event):
        host = event.get("host")
        if host in self.seqs:
            # A new producer: its count moved on without a patch; the client refetches.
            await self._resync(host, (await live.atopology_seqs([host]))[host])

    async def _resync(self, host: str, seq: int) -> None:
        self.seqs[host] = max(self.seqs.get(host, 0), seq)
        await self.send_json(live.resync_message(host))

    async def _watch_seqs(self):
        """A patch that never arrived, and no later one to show the gap: compare with the
        producer's count; a host that stays ahead for a whole check is resynced."""
        behind: dict[str, int] = {}
        while True:
            await asyncio.sleep(SEQ_CHECK_EVERY)
            if not self.seqs:
                continue
            try:
                current = await live.atopology_seqs(sorted(self.seqs))
            except Exception as exc:  # Redis away: the next check tells
                log.warning("seq check failed: %s", exc)
                continue
            for host, seq in current.items():
                mine = self.seqs.get(host)
                if mine is None or seq <= mine:
                    behind.pop(host, None)
                elif host in behind and mine < behind[host]:
                    await self._resync(host, seq)  # what was due at the last check still has not come
                    behind.pop(host, None)
                else:
                    behind[host] = seq

    async def job_progress(self, event):
        await self.send_json(event)
