"""Drivers other than bridge, against the real engine: macvlan on a veth parent made inside the
test engine's own network namespace (never one of the machine's interfaces), and overlay on a
single-node swarm."""
import os
import subprocess

import pytest

from dockerweb.inventory.services import host_check

from .conftest import engine_snapshot

pytestmark = pytest.mark.django_db

BASE = "/api/hosts/local/networks/"


def netns(*args: str) -> subprocess.CompletedProcess:
    ns = f"/var/run/netns/dw-{os.environ['DOCKERWEB_TEST_ENGINE']}"
    return subprocess.run(["nsenter", f"--net={ns}", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def veth_parent():
    """A veth pair inside the test engine's namespace; its one end is the macvlan parent."""
    netns("ip", "link", "del", "dwmv0")
    r = netns("ip", "link", "add", "dwmv0", "type", "veth", "peer", "name", "dwmv1")
    assert r.returncode == 0, r.stderr
    netns("ip", "link", "set", "dwmv0", "up")
    netns("ip", "link", "set", "dwmv1", "up")
    yield "dwmv0"
    netns("ip", "link", "del", "dwmv0")


def test_macvlan_on_a_veth_parent(api_as, host, engine, veth_parent, run_busybox):
    client = api_as("admin")  # a parent names a host interface: network.host_interface is admin-only
    r = client.post(BASE, {"name": "dw-mv", "driver": "macvlan", "options": {"parent": veth_parent},
                           "ipam": {"config": [{"subnet": "10.51.0.0/24", "gateway": "10.51.0.1"}]}}, format="json")
    assert r.status_code == 201, r.json()
    a = engine.api.inspect_network(r.json()["id"])
    assert a["Driver"] == "macvlan" and a["Options"] == {"parent": veth_parent}
    # a second macvlan network on the same parent is refused before the engine, naming the first
    before = engine_snapshot(engine)
    r = client.post(BASE, {"name": "dw-mv2", "driver": "macvlan", "options": {"parent": veth_parent},
                           "ipam": {"config": [{"subnet": "10.52.0.0/24"}]}}, format="json")
    assert r.status_code == 409 and "'dw-mv' already uses parent interface dwmv0" in r.json()["detail"]
    assert r.json()["field"] == "options.parent"
    assert engine_snapshot(engine) == before
    # a container with a fixed address on it gets its own MAC on the parent
    c = run_busybox("dw-mv-c")
    r = client.post(f"{BASE}dw-mv/connect/", {"container": "dw-mv-c", "ipv4_address": "10.51.0.20"}, format="json")
    assert r.status_code == 200, r.json()
    ep = engine.api.inspect_container(c.id)["NetworkSettings"]["Networks"]["dw-mv"]
    assert ep["IPAddress"] == "10.51.0.20" and ep["MacAddress"]
    code, out = c.exec_run(["ip", "addr"])
    assert "10.51.0.20/24" in out.decode()


def test_overlay_on_a_swarm_manager(api_as, host, engine):
    client = api_as("operator")
    engine.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
    try:
        assert host_check(host=host)
        host.refresh_from_db()
        assert host.is_swarm_manager
        r = client.post(BASE, {"name": "dw-ov", "driver": "overlay", "attachable": True,
                               "ipam": {"config": [{"subnet": "10.53.1.0/24", "gateway": "10.53.1.1"},
                                                   {"subnet": "10.53.2.0/24"}]}}, format="json")
        assert r.status_code == 201, r.json()
        a = engine.api.inspect_network(r.json()["id"])
        assert (a["Driver"], a["Scope"], a["Attachable"]) == ("overlay", "swarm", True)
        assert [c["Subnet"] for c in a["IPAM"]["Config"]] == ["10.53.1.0/24", "10.53.2.0/24"]
        assert r.json()["scope"] == "swarm"
        r = client.delete(f"{BASE}dw-ov/")
        assert r.status_code == 204
        assert "dw-ov" not in {n.name for n in engine.networks.list()}
    finally:
        engine.swarm.leave(force=True)
        host_check(host=host)
