"""The one producer of a host's topology patches, beside the host's watcher.

It holds the host's graph as last sent (`services.TopologyState`), takes the mirror changes
queued for the host (`core.live.mirror_changes_take`, from every process), reads only the
changed objects again, and sends the difference as one `topology.patch` numbered `seq` (+1 per
patch) to the host's group — once per host, whatever the number of sockets, and never in a
process that serves pages.

No delay is added: a change is read and sent as soon as it is taken; what queues up while a
patch is being made goes into the next one. Nothing relies on a message surviving: on start
the producer reads the whole host and tells every socket to resync, and every `FULL_EVERY`
seconds it diffs the whole host (a change whose note was lost — Redis away, a list trimmed —
still reaches the graph). Sockets that miss a patch see a gap in `seq` and resync.

Producers hand over (a host registered again, a lease moving to another watcher): a stopping
producer gives back what it took and sends nothing more, and a producer whose count shows a
patch it did not send (another producer overlapped it) reads the whole host again and tells the
sockets to resync — its "graph as last sent" is no longer what the sockets hold."""
from __future__ import annotations

import asyncio
import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection

from dockerweb.core import live
from dockerweb.inventory.models import Host

from . import services

log = logging.getLogger(__name__)

TAKE_TIMEOUT = 1.0  # seconds a take waits for a change before looking at the clock again


class TopologyProducer(threading.Thread):
    def __init__(self, host_id: int, stop: threading.Event):
        super().__init__(name=f"topology-{host_id}", daemon=True)
        self.host_id = host_id
        self.stop_event = stop
        self.sent = 0  # patches sent (for the log and tests)

    def run(self) -> None:
        loop = asyncio.new_event_loop()  # one loop for good: the channel layer keeps its connections
        try:
            while not self.stop_event.is_set():
                try:
                    self._serve(loop)
                except Exception:
                    log.exception("topology producer of host %s failed; starting again", self.host_id)
                    connection.close()
                    self.stop_event.wait(1.0)
        finally:
            loop.close()
            connection.close()

    def _send(self, loop, host: str, ops: list[dict]) -> int:
        seq = live.topology_seq_next(host)
        loop.run_until_complete(live.apublish(live.host_group(host), live.patch_message(host, seq, ops)))
        self.sent += 1
        return seq

    def _serve(self, loop) -> None:
        close_old_connections()
        host = Host.objects.filter(pk=self.host_id).first()
        if host is None:
            self.stop_event.wait(TAKE_TIMEOUT)
            return
        name = host.name
        live.mirror_changes_clear(name)
        state = services.topology_state_load(host=host)
        # Whatever sockets hold was made by an earlier producer (or none): they start again from
        # the API, whose answer carries the seq it shows.
        seq = live.topology_seq_next(name)
        loop.run_until_complete(live.apublish(live.host_group(name), live.resync_message(name)))
        last_full = time.monotonic()
        while not self.stop_event.is_set():
            changes = live.mirror_changes_take(name, timeout=TAKE_TIMEOUT)
            if self.stop_event.is_set():
                live.mirror_changes_give_back(name, changes)  # for this host's next producer
                return
            now = time.monotonic()
            if now - last_full >= settings.TOPOLOGY_FULL_EVERY:
                changes = {("host", name)}
                last_full = now
            if not changes:
                continue
            if live.topology_seq(name) != seq:
                log.info("another producer sent patches of %s; reading the whole host again", name)
                return
            # One database connection for good (a new one per patch cost milliseconds of every
            # patch's latency); a broken one raises here and `run` starts over with a fresh one.
            ops = services.topology_patch(state=state, changes=changes)
            if ops:
                sent = self._send(loop, name, ops)
                if sent != seq + 1:
                    log.info("another producer sent patches of %s (%s to %s); reading the whole host again",
                             name, seq + 1, sent - 1)
                    return
                seq = sent
