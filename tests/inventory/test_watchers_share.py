"""Watchers that share hosts and take over: two `watch` processes, three engines (each in its own
network namespace). Each engine is followed by exactly one watcher (its lease in Redis); after
`kill -9` of one, its engines are followed again by the other within 10 s, with a reconcile that
brings what changed meanwhile."""
from __future__ import annotations

import os
import signal
import time

import docker
import pytest

from tests.support import procs

pytestmark = [pytest.mark.slow]


@pytest.fixture
def engine_c_url():
    name = os.environ["DOCKERWEB_TEST_ENGINE"] + "-c"
    url = procs.sandbox("start", name)
    yield url
    procs.sandbox("stop", name)


def _holders() -> dict[str, str | None]:
    from dockerweb.inventory.leases import lease_holder

    return {name: lease_holder(name) for name in ("local", "hostb", "hostc")}


def _owner(holder: str | None, watchers: list) -> object | None:
    return next((w for w in watchers if holder and f":{w.pid}:" in holder), None)


def test_two_watchers_share_three_engines_and_take_over_after_kill_9(transactional_db, engine_url, engine_b_url,
                                                                    engine_c_url, watcher_proc, api_as):
    from dockerweb.inventory.models import Host
    from dockerweb.inventory.services import host_register

    # The session's watcher steps aside for this test (it would follow the hosts too).
    watcher_proc.stop()
    started = []
    try:
        for name, url in (("local", engine_url), ("hostb", engine_b_url), ("hostc", engine_c_url)):
            host_register(name=name, url=url)
        started = [procs.start_watcher(f"watcher-share-{i}") for i in (1, 2)]

        def shared():
            holders = _holders()
            owners = {name: _owner(h, started) for name, h in holders.items()}
            rows = {h.name: h for h in Host.objects.all()}
            if all(owners.values()) and all(rows[n].watching_since and rows[n].watcher == holders[n] for n in rows):
                return owners
            return None
        owners = procs.wait_for(shared, timeout=30, interval=0.2, message="every engine followed by one watcher")
        # Exactly one each: a lease has one holder, and each watcher says which hosts it follows.
        assert set(owners.values()) <= set(started)
        victim = next(w for w in started if any(o is w for o in owners.values()))
        survivor = next(w for w in started if w is not victim)
        taken = sorted(n for n, o in owners.items() if o is victim)

        os.kill(victim.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        # Changes during the gap, on an engine the dead watcher followed.
        url = {"local": engine_url, "hostb": engine_b_url, "hostc": engine_c_url}[taken[0]]
        client = docker.DockerClient(base_url=url, version="1.41", timeout=30)
        try:
            client.volumes.create("dw-m-gap", labels={"dw-m": "1"})

            def taken_over():
                holders = _holders()
                rows = {h.name: h for h in Host.objects.filter(name__in=taken)}
                return all(_owner(holders[n], started) is survivor and rows[n].watcher == holders[n]
                           and rows[n].watching_since for n in taken)
            procs.wait_for(taken_over, timeout=10, interval=0.1, message=f"{taken} followed again after kill -9")
            took = time.monotonic() - killed_at
            api = api_as("viewer")
            procs.wait_for(lambda: api.get(f"/api/hosts/{taken[0]}/volumes/dw-m-gap/").status_code == 200, timeout=5,
                           message="the change made during the gap")
            print(f"\n{taken} taken over {took:.1f} s after kill -9 of the watcher that followed them")
            assert took <= 10
            client.volumes.get("dw-m-gap").remove()
        finally:
            client.close()
    finally:
        for w in started:
            w.stop()
        watcher_proc.restart()
