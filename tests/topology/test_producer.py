"""The host's patch producer when producers overlap: a host registered again, or its lease moving
to another watcher, leaves the old producer ending while the new one starts. Real Redis, real
channel layer, real engine; the producers run here, on a host whose lease this test holds (so no
watcher process follows it meanwhile)."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tests.support import procs

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "dw-handover"


@pytest.fixture
def quiet_host(transactional_db, engine, engine_url):
    from dockerweb.core import live
    from dockerweb.inventory.leases import _key
    from dockerweb.inventory.services import host_reconcile, host_register

    client = live.redis_client()
    client.set(_key(NAME), "this-test", px=120_000)  # no watcher process takes this host
    h = host_register(name=NAME, url=engine_url)
    host_reconcile(host=h)
    yield h
    client.delete(_key(NAME))


class Listener:
    """The host's group, as every socket of the host receives it."""

    def __init__(self):
        self.got: list[dict] = []
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    async def _listen(self):
        from channels.layers import get_channel_layer

        from dockerweb.core import live

        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(live.host_group(NAME), channel)
        self.ready.set()
        try:
            while not self.stop.is_set():
                try:
                    self.got.append(await asyncio.wait_for(layer.receive(channel), 0.2))
                except asyncio.TimeoutError:
                    continue
        finally:
            await layer.group_discard(live.host_group(NAME), channel)

    def wait(self, predicate, what: str, timeout: float = 10.0) -> dict:
        return procs.wait_for(lambda: next((m for m in list(self.got) if predicate(m)), None), timeout=timeout,
                              message=f"{what} (got {self.got!r})")

    def close(self):
        self.stop.set()
        self.thread.join(5)


def patch_with(op: str, ident: str):
    return lambda m: m.get("type") == "topology.patch" and any(o["op"] == op and o["id"] == ident for o in m["ops"])


def start(host_id: int):
    from dockerweb.core import live
    from dockerweb.topology.producer import TopologyProducer

    before = live.topology_seq(NAME)
    stop = threading.Event()
    producer = TopologyProducer(host_id, stop)
    producer.start()
    # Serving: it has read the host and moved the count on with its resync.
    procs.wait_for(lambda: live.topology_seq(NAME) > before, timeout=10, message="the producer to start")
    return producer, stop


def test_an_ending_producer_leaves_what_it_took_to_its_successor(quiet_host, engine, monkeypatch):
    """Before: the ending producer, still waiting for a change, took the new volume's note and
    sent its addition from its own graph; the successor never knew the volume, so its removal
    never reached any socket."""
    from dockerweb.inventory.services import volume_sync
    from dockerweb.topology import producer as producer_mod

    monkeypatch.setattr(producer_mod, "TAKE_TIMEOUT", 5.0)  # the old one surely still waits when the note comes
    listener = Listener()
    old, old_stop = start(quiet_host.pk)
    new = new_stop = None
    try:
        time.sleep(0.3)  # the old producer is waiting for a change
        old_stop.set()
        new, new_stop = start(quiet_host.pk)
        vol = engine.volumes.create("dw-handover-vol")
        volume_sync(host=quiet_host, name=vol.name)  # Redis hands the note to the longest waiter: the old one
        listener.wait(patch_with("add", "vol:dw-handover-vol"), "the volume's addition")
        old.join(10)
        assert not old.is_alive() and old.sent == 0 and new.sent == 1
        vol.remove()
        volume_sync(host=quiet_host, name=vol.name)
        listener.wait(patch_with("remove", "vol:dw-handover-vol"), "the volume's removal")
    finally:
        for stop, p in ((old_stop, old), (new_stop, new)):
            if stop is not None:
                stop.set()
                p.join(10)
        listener.close()


def test_a_producer_that_sees_patches_it_did_not_send_reads_the_host_again(quiet_host, engine):
    """Another producer's patch (an overlap this one could not prevent) means the sockets hold
    what this producer's graph does not: it reads the whole host again and tells them to resync,
    and later changes are still sent."""
    from dockerweb.core import live
    from dockerweb.inventory.services import volume_sync

    listener = Listener()
    producer, stop = start(quiet_host.pk)
    try:
        foreign = live.topology_seq_next(NAME)  # what an overlapping producer's patch does to the count
        resyncs = sum(m["type"] == "topology.resync" for m in listener.got)
        vol = engine.volumes.create("dw-handover-vol2")
        volume_sync(host=quiet_host, name=vol.name)
        procs.wait_for(lambda: sum(m["type"] == "topology.resync" for m in list(listener.got)) > resyncs,
                       timeout=10, message=f"a resync (got {listener.got!r})")
        assert live.topology_seq(NAME) == foreign + 1  # the resync moved the count on; no patch on a stale graph
        vol.remove()
        volume_sync(host=quiet_host, name=vol.name)
        removed = listener.wait(patch_with("remove", "vol:dw-handover-vol2"), "the volume's removal")
        assert removed["seq"] == foreign + 2
    finally:
        stop.set()
        producer.join(10)
        listener.close()
