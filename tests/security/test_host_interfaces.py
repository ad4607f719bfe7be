"""Door 3: taking over a host interface.

`-o com.docker.network.bridge.name=<an existing Linux bridge>` makes the engine adopt that bridge
and replace its addresses (a host whose uplink is br0 loses its network); a macvlan/ipvlan parent
puts containers on any link of the machine. The attack, against the real engine: a bridge with an
address made inside the test engine's own network namespace (the "uplink"), then a network that
names it. Proof it failed: 403 for operators (logged as refused), 409 on the field even for
admins, nothing new on the engine, and the uplink still has exactly its address."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from dockerweb.core.models import Activity
from tests.networks.conftest import engine_snapshot

pytestmark = pytest.mark.django_db

BASE = "/api/hosts/local/networks/"
BRIDGE_NAME = "com.docker.network.bridge.name"
UPLINK, UPLINK_ADDRESS = "dwuplink0", "10.77.0.1/24"


def netns_ip(*args: str) -> subprocess.CompletedProcess:
    """`ip …` inside the test engine's network namespace (never the machine's own)."""
    ns = f"dw-{os.environ['DOCKERWEB_TEST_ENGINE']}"
    return subprocess.run(["ip", "netns", "exec", ns, "ip", *args], capture_output=True, text=True, check=False)


def addresses(ifname: str) -> list[str]:
    r = netns_ip("-4", "-o", "addr", "show", "dev", ifname)
    assert r.returncode == 0, r.stderr
    return sorted(line.split()[3] for line in r.stdout.splitlines())


def interface_exists(ifname: str) -> bool:
    return netns_ip("link", "show", "dev", ifname).returncode == 0


@pytest.fixture
def uplink():
    """A Linux bridge with an address, as a host's uplink would be, in the engine's namespace."""
    netns_ip("link", "del", UPLINK)
    try:
        for args in (("link", "add", UPLINK, "type", "bridge"), ("addr", "add", UPLINK_ADDRESS, "dev", UPLINK),
                     ("link", "set", UPLINK, "up")):
            r = netns_ip(*args)
            assert r.returncode == 0, r.stderr
        yield UPLINK
    finally:
        netns_ip("link", "del", UPLINK)


@pytest.fixture
def veth_parent():
    """A veth pair in the engine's namespace; one end is a legitimate macvlan parent."""
    netns_ip("link", "del", "mvp0")
    try:
        r = netns_ip("link", "add", "mvp0", "type", "veth", "peer", "name", "mvp1")
        assert r.returncode == 0, r.stderr
        netns_ip("link", "set", "mvp0", "up")
        netns_ip("link", "set", "mvp1", "up")
        yield "mvp0"
    finally:
        netns_ip("link", "del", "mvp0")


def refused_row(user) -> Activity:
    return Activity.objects.filter(username=user.username, action="network.create").latest("at")


def test_an_operator_cannot_make_the_engine_adopt_a_host_bridge(api_as, host, engine, uplink):
    operator = api_as("operator")
    before = engine_snapshot(engine)
    r = operator.post(BASE, {"name": "dw-adopt", "options": {BRIDGE_NAME: uplink}}, format="json")
    body = r.json()
    assert r.status_code == 403, body
    assert body["field"] == f"options.{BRIDGE_NAME}" and "admin role (network.host_interface)" in body["detail"]
    assert engine_snapshot(engine) == before
    assert "dw-adopt" not in {n.name for n in engine.networks.list()}
    row = refused_row(operator.user)
    assert row.outcome == "refused" and row.detail["message"] == body["detail"]
    assert row.detail["host_interfaces"] == {f"options.{BRIDGE_NAME}": uplink}
    assert addresses(uplink) == [UPLINK_ADDRESS]


def test_not_even_an_admin_makes_the_engine_adopt_an_existing_interface(api_as, host, engine, uplink):
    admin = api_as("admin")
    before = engine_snapshot(engine)
    for ifname in (uplink, "lo"):
        r = admin.post(BASE, {"name": "dw-adopt", "options": {BRIDGE_NAME: ifname}}, format="json")
        body = r.json()
        assert r.status_code == 409, body
        assert body["field"] == f"options.{BRIDGE_NAME}"
        assert f"already has an interface named {ifname}" in body["detail"] and "replace its addresses" in body["detail"]
        assert refused_row(admin.user).outcome == "failed"
    # another network's bridge (br-<id>, named by the engine) is refused as well
    other = engine.networks.create("dw-other")
    before = engine_snapshot(engine)
    r = admin.post(BASE, {"name": "dw-adopt", "options": {BRIDGE_NAME: f"br-{other.id[:12]}"}}, format="json")
    assert r.status_code == 409 and "is the Linux bridge of network 'dw-other'" in r.json()["detail"], r.json()
    assert engine_snapshot(engine) == before
    assert addresses(uplink) == [UPLINK_ADDRESS]
    # a name no interface has is still an admin's to give: the engine makes that bridge
    r = admin.post(BASE, {"name": "dw-own-bridge", "options": {BRIDGE_NAME: "dwown0"}}, format="json")
    assert r.status_code == 201, r.json()
    assert interface_exists("dwown0")
    assert addresses(uplink) == [UPLINK_ADDRESS]


def test_macvlan_parents_are_admins_and_never_the_engines_own_bridges(api_as, host, engine, veth_parent):
    operator, admin = api_as("operator"), api_as("admin")
    macvlan = {"name": "dw-mv", "driver": "macvlan", "options": {"parent": veth_parent},
               "ipam": {"config": [{"subnet": "10.78.0.0/24"}]}}
    before = engine_snapshot(engine)
    r = operator.post(BASE, macvlan, format="json")
    assert r.status_code == 403 and r.json()["field"] == "options.parent", r.json()
    assert refused_row(operator.user).outcome == "refused"
    assert engine_snapshot(engine) == before

    for parent in ("docker0", "docker0.10"):  # the default bridge, or a VLAN link made on it
        r = admin.post(BASE, {**macvlan, "options": {"parent": parent}}, format="json")
        body = r.json()
        assert r.status_code == 409 and body["field"] == "options.parent", body
        assert "docker0 is the Linux bridge of network 'bridge'" in body["detail"]
    r = admin.post(BASE, {**macvlan, "options": {"parent": "lo"}}, format="json")
    assert r.status_code == 400 and "loopback" in r.json()["detail"], r.json()
    assert engine_snapshot(engine) == before
    assert not interface_exists("docker0.10")

    r = admin.post(BASE, macvlan, format="json")
    assert r.status_code == 201, r.json()
    a = engine.api.inspect_network(r.json()["id"])
    assert (a["Driver"], a["Options"]) == ("macvlan", {"parent": veth_parent})


@contextmanager
def forwarded(target: str, path: str):
    """A unix socket at `path` relayed to `target` by this test process: as a socket forwarded
    from elsewhere, the process behind it is not the engine and lives in another namespace."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)

    def pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            up.connect(target)
            threading.Thread(target=pump, args=(conn, up), daemon=True).start()
            threading.Thread(target=pump, args=(up, conn), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"unix://{path}"
    finally:
        server.close()


def test_interfaces_are_the_engines_own_even_through_a_forwarded_socket(host, uplink):
    """The engine's namespace, not the namespace of whatever serves the socket: the direct read
    (/proc/<engine pid>/net/dev) and the helper-container read (used for remote engines, and here
    because the forwarder fails the check) both see the uplink, and not this process's own links."""
    from dockerweb.engine.networks import host_interfaces

    direct = host_interfaces(host)
    assert {uplink, "docker0", "lo"} <= direct
    with open("/proc/self/net/dev") as f:
        ours = {line.split(":", 1)[0].strip() for line in f.read().splitlines()[2:]}
    # A unix socket path holds at most 107 bytes: pytest's tmp_path under a deep checkout (CI's
    # is) is longer, so the relay's socket lives in a short folder of its own under /tmp.
    short = tempfile.mkdtemp(prefix="dw-fwd-", dir="/tmp")
    try:
        with forwarded(host.url[len("unix://"):], os.path.join(short, "fwd.sock")) as url:
            through_helper = host_interfaces(SimpleNamespace(name="forwarded", url=url))
    finally:
        shutil.rmtree(short, ignore_errors=True)
    assert through_helper == direct
    assert uplink not in ours  # the check means something: this process's namespace really is another one
