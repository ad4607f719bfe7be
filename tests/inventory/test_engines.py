"""Several engines: each mirrored by its own watcher loop, without mixing; one engine stopped
and started again is marked unreachable, then mirrored exactly again (changes made while the
watcher was cut off included), and never stalls the other."""
from __future__ import annotations

import os
import tempfile
import time

import pytest
from docker.types import IPAMConfig, IPAMPool

from dockerweb.inventory.models import Host, Network
from tests.support import procs
from tests.support.procs import wait_for

from .conftest import wait_watched
from .mirror import IMAGE, differences

pytestmark = pytest.mark.django_db(transaction=True)

ENGINE_B = os.environ.get("DOCKERWEB_TEST_ENGINE", "t-main") + "-b"


def register(api, name, url):
    r = api.post("/api/hosts/", {"name": name, "url": url}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "ok"
    return Host.objects.get(name=name)


def host_status(api, name):
    return api.get(f"/api/hosts/{name}/").json()["status"]


def test_two_engines_are_mirrored_side_by_side_and_a_stopped_one_does_not_stall_the_other(
        live_host, engine, engine_b, engine_b_url, api_as):
    admin = api_as("admin")
    # dockerweb reaches engine b through a symlink to its socket, so that the test can keep the
    # watcher cut off after the engine is back, for as long as it makes its changes there.
    link = os.path.join(tempfile.mkdtemp(prefix="dwm-"), "b.sock")
    os.symlink(engine_b_url.removeprefix("unix://"), link)
    hostb = wait_watched(register(admin, "hostb", "unix://" + link))

    # The same network name on both engines, with different subnets.
    na = engine.networks.create("dw-m-same", ipam=IPAMConfig(pool_configs=[IPAMPool(subnet="10.33.0.0/24")]))
    nb = engine_b.networks.create("dw-m-same", ipam=IPAMConfig(pool_configs=[IPAMPool(subnet="10.34.0.0/24")]))
    ca = engine.containers.run(IMAGE, ["sleep", "300"], name="dw-m-on-a", network="dw-m-same", detach=True)
    cb = engine_b.containers.run(IMAGE, ["sleep", "300"], name="dw-m-on-b", network="dw-m-same", detach=True)
    engine_b.containers.run(IMAGE, ["sleep", "300"], name="dw-m-b-norestart", detach=True)
    engine_b.containers.run(IMAGE, ["sleep", "300"], name="dw-m-b-always", detach=True,
                                        restart_policy={"Name": "always"})

    def same(name):
        return [(n["id"], n["ipam"]["config"][0]["subnet"], [c["name"] for c in n["containers"]])
                for n in admin.get(f"/api/hosts/{name}/networks/", {"name": "dw-m-same"}).json()]

    wait_for(lambda: same("local") == [(na.id, "10.33.0.0/24", ["dw-m-on-a"])], timeout=1, message="host local's network")
    wait_for(lambda: same("hostb") == [(nb.id, "10.34.0.0/24", ["dw-m-on-b"])], timeout=1, message="hostb's network")
    assert admin.get(f"/api/hosts/local/containers/{cb.id}/").status_code == 404
    assert admin.get(f"/api/hosts/hostb/containers/{ca.id}/").status_code == 404
    assert differences(admin, "local", engine) == []
    assert differences(admin, "hostb", engine_b) == []

    # Engine b goes away mid-stream.
    procs.sandbox("stop", ENGINE_B)
    try:
        wait_for(lambda: host_status(admin, "hostb") == "unreachable", timeout=5, message="hostb to show unreachable")
        assert Host.objects.get(name="hostb").watching_since is None
        assert Host.objects.get(name="hostb").last_error
        # Host local is not stalled: a change there is mirrored within a second.
        t0 = time.monotonic()
        engine.volumes.create("dw-m-while-b-is-down")
        wait_for(lambda: admin.get("/api/hosts/local/volumes/dw-m-while-b-is-down/").status_code == 200, timeout=1,
                 message="a change on local while hostb is down")
        assert time.monotonic() - t0 < 1.5
        assert host_status(admin, "local") == "ok"
        # b's mirror is kept (stale but shown) while it is away.
        assert Network.objects.filter(host=hostb, engine_id=nb.id).exists()
    finally:
        os.unlink(link)
        procs.sandbox("start", ENGINE_B)

    # Changes on b before the watcher is back: they are not in any event the watcher will see.
    cb.remove(force=True)
    engine_b.volumes.create("dw-m-made-while-cut-off", labels={"while": "away"})
    nb2 = engine_b.networks.create("dw-m-b-new")
    time.sleep(0.5)  # a moment in which a watcher that had sneaked back in would have caught up
    made_while_cut_off = Host.objects.get(name="hostb").watching_since is None
    os.symlink(engine_b_url.removeprefix("unix://"), link)

    wait_watched(hostb, timeout=40)
    wait_for(lambda: not differences(admin, "hostb", engine_b), timeout=2,
             message="hostb's mirror to equal its engine again")
    assert made_while_cut_off, "the changes were made after the watcher was back: the test proved nothing"
    assert host_status(admin, "hostb") == "ok"
    states = {c["name"]: c["state"] for c in admin.get("/api/hosts/hostb/containers/").json()}
    assert states["dw-m-b-norestart"] == "exited" and states["dw-m-b-always"] == "running"
    assert "dw-m-on-b" not in states
    assert admin.get("/api/hosts/hostb/volumes/dw-m-made-while-cut-off/").json()["labels"] == {"while": "away"}
    assert admin.get(f"/api/hosts/hostb/networks/{nb2.id}/").status_code == 200
    assert differences(admin, "local", engine) == []
