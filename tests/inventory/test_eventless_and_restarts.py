"""Changes without events, and an engine that goes away and comes back.

- Connecting or disconnecting a stopped container sends no event: the light poll
  (DOCKERWEB_LIGHT_POLL, 2 s) sees it and the API shows it within seconds (it took up to 5
  minutes, the periodic reconcile).
- An engine stopped for 30 s and started again is followed again at once (the old backoff
  left it unwatched for up to 30 s): what is changed right after it answers is in the API
  within 3 s."""
from __future__ import annotations

import os
import time

import docker
import pytest

from tests.support.procs import sandbox, wait_for

from .conftest import wait_watched
from .mirror import IMAGE, api_container, engine_networks, expected_container

pytestmark = [pytest.mark.django_db(transaction=True)]


def _ipam(subnet: str):
    return docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])


def test_a_stopped_containers_connect_and_disconnect_reach_the_api_within_seconds(live_host, engine, api_as):
    api = api_as("viewer")
    engine.networks.create("dw-m-quiet", ipam=_ipam("10.241.0.0/24"))
    c = engine.containers.run(IMAGE, "sleep 600", name="dw-m-stopped", detach=True)
    c.stop(timeout=0)
    wait_for(lambda: api.get(f"/api/hosts/local/containers/{c.id}/").json().get("state") == "exited", timeout=10,
             message="the stop to be mirrored")

    def mirrored() -> bool:
        item = api.get(f"/api/hosts/local/containers/{c.id}/").json()
        return api_container(item) == expected_container(engine.api.inspect_container(c.id), engine_networks(engine))

    t0 = time.monotonic()
    engine.api.connect_container_to_network(c.id, "dw-m-quiet")  # no event for a stopped container
    wait_for(mirrored, timeout=5, interval=0.1, message="the eventless connect to be mirrored")
    connected = time.monotonic() - t0
    assert "dw-m-quiet" in api.get(f"/api/hosts/local/containers/{c.id}/").json()["networks"]
    t0 = time.monotonic()
    engine.api.disconnect_container_from_network(c.id, "dw-m-quiet")
    wait_for(mirrored, timeout=5, interval=0.1, message="the eventless disconnect to be mirrored")
    print(f"\neventless connect seen after {connected:.1f} s, disconnect after {time.monotonic() - t0:.1f} s")


@pytest.mark.slow
def test_an_engine_back_from_30_s_away_is_followed_again_at_once(transactional_db, watcher_proc, engine_b_url, engine_b,
                                                                api_as):
    from dockerweb.inventory.services import host_register

    name_b = os.environ["DOCKERWEB_TEST_ENGINE"] + "-b"
    host_b = host_register(name="hostb", url=engine_b_url)
    wait_watched(host_b)
    api = api_as("viewer")
    doomed = engine_b.containers.create(IMAGE, "sleep 600", name="dw-m-doomed")
    wait_for(lambda: api.get(f"/api/hosts/hostb/containers/{doomed.id}/").status_code == 200, timeout=10,
             message="the container on the second engine")

    sandbox("stop", name_b)
    try:
        wait_for(lambda: api.get("/api/hosts/hostb/").json().get("status") == "unreachable", timeout=20,
                 message="the host to be marked unreachable")
        time.sleep(30)
    finally:
        sandbox("start", name_b)
    client = docker.DockerClient(base_url=engine_b_url, version="1.41", timeout=60)
    try:
        answered = time.monotonic()
        client.api.remove_container(doomed.id, force=True)
        client.volumes.create("dw-m-after", labels={"dw-m": "1"})

        def seen():
            return (api.get(f"/api/hosts/hostb/containers/{doomed.id}/").status_code == 404
                    and api.get("/api/hosts/hostb/volumes/dw-m-after/").status_code == 200)
        wait_for(seen, timeout=10, interval=0.1, message="the changes made right after the restart")
        took = time.monotonic() - answered
        print(f"\nchanges made as the engine came back were in the API after {took:.1f} s")
        assert took <= 3.0, f"{took:.1f} s"
        assert api.get("/api/hosts/hostb/").json()["status"] == "ok"
    finally:
        client.close()
