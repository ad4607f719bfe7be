"""Changes made with the docker SDK behind dockerweb's back reach the mirror and the API,
with exactly the engine's values, within one second, while the real watcher process runs."""
from __future__ import annotations

import tempfile

import docker
import pytest

from dockerweb.inventory.models import Container, Endpoint, Mount, Network, PortBinding, Volume
from tests.support.procs import wait_for

from .mirror import (IMAGE, api_container, api_network, api_volume, differences, engine_networks, expected_container,
                     expected_network, expected_volume)

pytestmark = pytest.mark.django_db(transaction=True)

WITHIN = 1.0  # seconds: the promise


def _api_item(api, host, what, ident):
    r = api.get(f"/api/hosts/{host}/{what}/{ident}/")
    return r.json() if r.status_code == 200 else None


def seen_network(api, client, net_id):
    def check():
        item = _api_item(api, "local", "networks", net_id)
        return item is not None and api_network(item) == expected_network(client.api.inspect_network(net_id))
    wait_for(check, timeout=WITHIN, message=f"network {net_id[:12]} to be mirrored exactly")
    return _api_item(api, "local", "networks", net_id)


def seen_container(api, client, cid):
    def check():
        item = _api_item(api, "local", "containers", cid)
        return item is not None and api_container(item) == expected_container(client.api.inspect_container(cid),
                                                                               engine_networks(client))
    try:
        wait_for(check, timeout=WITHIN, message=f"container {cid[:12]} to be mirrored exactly")
    except AssertionError:
        item = _api_item(api, "local", "containers", cid)
        want = expected_container(client.api.inspect_container(cid), engine_networks(client))
        raise AssertionError(f"mirror {item and api_container(item)!r}\n!= engine {want!r}")
    return _api_item(api, "local", "containers", cid)


def seen_volume(api, client, name):
    def check():
        item = _api_item(api, "local", "volumes", name)
        raws = [client.api.inspect_container(c["Id"]) for c in client.api.containers(all=True)]
        return item is not None and api_volume(item) == expected_volume(client.api.inspect_volume(name), raws)
    wait_for(check, timeout=WITHIN, message=f"volume {name} to be mirrored exactly")
    return _api_item(api, "local", "volumes", name)


def gone(api, what, ident):
    wait_for(lambda: api.get(f"/api/hosts/local/{what}/{ident}/").status_code == 404, timeout=WITHIN,
             message=f"{what} {ident[:12]} to disappear")


def test_changes_behind_our_back_appear_exactly_within_a_second_and_removals_disappear(live_host, engine, api_as, tmp_path):
    api = api_as("viewer")

    # A network with everything `docker network create` can say about addresses.
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(
        subnet="10.31.0.0/24", gateway="10.31.0.1", iprange="10.31.0.128/25", aux_addresses={"router": "10.31.0.2"})])
    net_a = engine.networks.create("dw-m-front", driver="bridge", ipam=ipam, labels={"team": "ops", "tier": "front"},
                                   options={"com.docker.network.driver.mtu": "1400",
                                            "com.docker.network.bridge.enable_icc": "false"})
    item = seen_network(api, engine, net_a.id)
    assert item["ipam"]["config"] == [{"subnet": "10.31.0.0/24", "gateway": "10.31.0.1", "ip_range": "10.31.0.128/25",
                                       "aux_addresses": {"router": "10.31.0.2"}}]
    assert item["options"]["com.docker.network.driver.mtu"] == "1400"
    assert item["labels"] == {"team": "ops", "tier": "front"}
    net_b = engine.networks.create("dw-m-back", driver="bridge", ipam=docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet="10.32.0.0/24", gateway="10.32.0.1")]))
    seen_network(api, engine, net_b.id)

    vol = engine.volumes.create("dw-m-data", labels={"backup": "daily"})
    assert seen_volume(api, engine, vol.name)["labels"] == {"backup": "daily"}

    # A container with a fixed IP on two networks, published ports, a volume, a bind mount and a tmpfs.
    bind_dir = tempfile.mkdtemp(prefix="dw-m-bind-", dir=tmp_path)
    web = engine.containers.create(
        IMAGE, ["sleep", "300"], name="dw-m-web", labels={"app": "web"},
        ports={"80/tcp": ("127.0.0.1", 18081), "81/udp": ("127.0.0.1", None)},
        volumes={"dw-m-data": {"bind": "/data", "mode": "rw"}, bind_dir: {"bind": "/conf", "mode": "ro"}},
        tmpfs={"/scratch": "size=1m"},
        network="dw-m-front",
        networking_config={"dw-m-front": engine.api.create_endpoint_config(ipv4_address="10.31.0.140", aliases=["www"])},
    )
    engine.networks.get("dw-m-back").connect(web, ipv4_address="10.32.0.50", aliases=["api"])
    web.start()
    item = seen_container(api, engine, web.id)
    assert item["networks"]["dw-m-front"]["ipv4_address"] == "10.31.0.140"
    assert item["networks"]["dw-m-back"]["ipv4_address"] == "10.32.0.50"
    assert "www" in item["networks"]["dw-m-front"]["aliases"]
    assert {"container_port": 80, "protocol": "tcp", "host_ip": "127.0.0.1", "host_port": 18081} in item["ports"]
    udp = [p for p in item["ports"] if p["protocol"] == "udp"]
    assert udp and udp[0]["host_port"] and udp[0]["host_ip"] == "127.0.0.1"
    mounts = {m["destination"]: m for m in item["mounts"]}
    assert mounts["/data"]["type"] == "volume" and mounts["/data"]["name"] == "dw-m-data"
    assert mounts["/conf"] == {"type": "bind", "name": "", "source": bind_dir, "destination": "/conf", "read_only": True}
    tmpfs = engine.api.inspect_container(web.id)["HostConfig"]["Tmpfs"]
    assert tmpfs == {"/scratch": "size=1m"}  # tmpfs is not in Mounts: the raw attributes keep it
    assert Container.objects.get(engine_id=web.id).raw["HostConfig"]["Tmpfs"] == {"/scratch": "size=1m"}
    # The networks and the volume now show the container.
    front = seen_network(api, engine, net_a.id)
    assert [(c["name"], c["ipv4_address"]) for c in front["containers"]] == [("dw-m-web", "10.31.0.140")]
    used = seen_volume(api, engine, "dw-m-data")["used_by"]
    assert used == [{"container": web.id, "name": "dw-m-web", "destination": "/data", "read_only": False}]

    # A tmpfs given as a mount (it is then in Mounts), and the network modes.
    side = engine.containers.run(IMAGE, ["sleep", "300"], name="dw-m-side", network_mode=f"container:{web.id}",
                                 mounts=[docker.types.Mount("/cache", None, type="tmpfs")], detach=True)
    item = seen_container(api, engine, side.id)
    assert item["network_mode"] == f"container:{web.id}" and item["networks"] == {}
    assert item["mounts"] == [{"type": "tmpfs", "name": "", "source": "", "destination": "/cache", "read_only": False}]
    hostmode = engine.containers.run(IMAGE, ["sleep", "300"], name="dw-m-hostmode", network_mode="host", detach=True)
    assert list(seen_container(api, engine, hostmode.id)["networks"]) == ["host"]
    nonemode = engine.containers.run(IMAGE, ["sleep", "300"], name="dw-m-nonemode", network_mode="none", detach=True)
    assert list(seen_container(api, engine, nonemode.id)["networks"]) == ["none"]

    # A legacy --link on the default bridge.
    db = engine.containers.run(IMAGE, ["sleep", "300"], name="dw-m-db", detach=True)
    app = engine.containers.run(IMAGE, ["sleep", "300"], name="dw-m-app", links={"dw-m-db": "database"}, detach=True)
    seen_container(api, engine, db.id)
    assert seen_container(api, engine, app.id)["links"] == ["dw-m-db:database"]

    # State changes and a rename.
    app.stop(timeout=0)
    assert seen_container(api, engine, app.id)["state"] == "exited"
    app.rename("dw-m-app2")
    assert seen_container(api, engine, app.id)["name"] == "dw-m-app2"

    # The whole host, once more, all at once.
    assert differences(api, "local", engine) == []

    # Removals disappear: containers, then what they used.
    for c in (app, db, nonemode, hostmode, side, web):
        c.remove(force=True)
    for c in (app, db, nonemode, hostmode, side, web):
        gone(api, "containers", c.id)
    assert not Endpoint.objects.filter(container__engine_id=web.id).exists()
    assert not Mount.objects.filter(container__engine_id=web.id).exists()
    assert not PortBinding.objects.filter(container__engine_id=web.id).exists()
    net_a.remove()
    net_b.remove()
    vol.remove()
    gone(api, "networks", net_a.id)
    gone(api, "networks", net_b.id)
    gone(api, "volumes", "dw-m-data")
    assert not Network.objects.filter(name__startswith="dw-m-").exists()
    assert not Volume.objects.filter(name="dw-m-data").exists()


def test_anonymous_volume_of_docker_run_v_is_mirrored_with_its_mount(live_host, engine, api_as):
    api = api_as("viewer")
    c = engine.containers.run(IMAGE, ["sleep", "300"], name="dw-m-anon", volumes=["/anon"], detach=True)
    item = seen_container(api, engine, c.id)
    name = item["mounts"][0]["name"]
    assert len(name) == 64
    vol = seen_volume(api, engine, name)
    assert vol["anonymous"] is True and vol["used_by"][0]["name"] == "dw-m-anon"
    c.remove(force=True, v=True)
    gone(api, "containers", c.id)
    gone(api, "volumes", name)


def test_each_change_becomes_a_numbered_patch_on_the_hosts_group(live_host, engine):
    """The watcher's mirror change reaches the host's producer, which sends one patch, numbered
    one more than the last (the live graph's input)."""
    import asyncio
    import threading

    from channels.layers import get_channel_layer

    from dockerweb.core import live

    got: list[dict] = []
    before: list[int] = []

    async def listen():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(live.host_group("local"), channel)
        try:
            await asyncio.sleep(0.3)  # a resync of a producer (re)started for this test's host passes first
            before.append(live.topology_seq("local"))
            vol = await asyncio.to_thread(engine.volumes.create, "dw-m-announced")
            deadline = asyncio.get_running_loop().time() + 5
            while asyncio.get_running_loop().time() < deadline:
                try:
                    got.append(await asyncio.wait_for(layer.receive(channel), 0.5))
                except asyncio.TimeoutError:
                    continue
                if any(o["id"] == "vol:dw-m-announced" for m in got for o in m.get("ops", [])):
                    break
            await asyncio.to_thread(vol.remove)
        finally:
            await layer.group_discard(live.host_group("local"), channel)

    # Its own thread and event loop: browser tests leave one running in the main thread.
    t = threading.Thread(target=lambda: asyncio.run(listen()))
    t.start()
    t.join(15)
    patches = [m for m in got if m["type"] == "topology.patch"]
    mine = [m for m in patches if any(o["id"] == "vol:dw-m-announced" for o in m["ops"])]
    assert mine, f"no patch for the volume (got {got!r})"
    assert mine[0]["host"] == "local" and mine[0]["seq"] == before[0] + len(patches[: patches.index(mine[0]) + 1])
    assert [m["seq"] for m in patches] == list(range(before[0] + 1, before[0] + 1 + len(patches)))
    op = next(o for o in mine[0]["ops"] if o["id"] == "vol:dw-m-announced")
    assert op["op"] == "add" and op["data"]["kind"] == "volume" and op["data"]["label"] == "dw-m-announced"


def test_prunes_remove_every_pruned_object_from_the_mirror(live_host, engine, api_as):
    api = api_as("viewer")
    nets = [engine.networks.create(f"dw-m-prune{i}", labels={"dw-m-prune": "1"}) for i in range(2)]
    vols = [engine.volumes.create(f"dw-m-prune{i}", labels={"dw-m-prune": "1"}) for i in range(2)]
    for n in nets:
        wait_for(lambda: api.get(f"/api/hosts/local/networks/{n.id}/").status_code == 200, timeout=WITHIN,
                 message="the network to be mirrored")
    for v in vols:
        wait_for(lambda: api.get(f"/api/hosts/local/volumes/{v.name}/").status_code == 200, timeout=WITHIN,
                 message="the volume to be mirrored")
    assert sorted(engine.networks.prune(filters={"label": "dw-m-prune"})["NetworksDeleted"]) == ["dw-m-prune0", "dw-m-prune1"]
    assert sorted(engine.volumes.prune(filters={"label": "dw-m-prune"})["VolumesDeleted"]) == ["dw-m-prune0", "dw-m-prune1"]
    for n in nets:
        gone(api, "networks", n.id)
    for v in vols:
        gone(api, "volumes", v.name)
