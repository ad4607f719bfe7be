"""Every bad network request the issue lists, against the real engine: each gets its status
code, a sentence that says what is wrong (on the field it belongs to), and the engine's networks
and endpoints are exactly the same afterwards."""
import ipaddress
import json

import pytest

from dockerweb.core.models import Activity

from .conftest import engine_snapshot

pytestmark = pytest.mark.django_db

BASE = "/api/hosts/local/networks/"


def create(body):
    return ("post", BASE, body)


def connect(net, body):
    return ("post", f"{BASE}{net}/connect/", body)


def disconnect(net, body):
    return ("post", f"{BASE}{net}/disconnect/", body)


def delete(net):
    return ("delete", f"{BASE}{net}/", None)


def v4(subnet, **kw):
    return {"ipam": {"config": [{"subnet": subnet, **kw}]}}


# (case id, request, status, field or None, words the message must contain[, role; operator if not given])
CASES = [
    ("bad-cidr", create({"name": "dw-x", **v4("10.40.300.0/24")}), 400, "ipam.config.0.subnet",
     ["'10.40.300.0/24' is not a valid subnet"]),
    ("bad-cidr-prefix", create({"name": "dw-x", **v4("10.41.0.0/33")}), 400, "ipam.config.0.subnet", ["not a valid subnet"]),
    ("host-bits", create({"name": "dw-x", **v4("10.41.0.5/24")}), 400, "ipam.config.0.subnet",
     ["host bits set", "10.41.0.0/24"]),
    ("gateway-outside", create({"name": "dw-x", **v4("10.42.0.0/24", gateway="10.43.0.1")}), 400,
     "ipam.config.0.gateway", ["gateway 10.43.0.1 is outside the subnet 10.42.0.0/24"]),
    ("gateway-not-an-ip", create({"name": "dw-x", **v4("10.42.0.0/24", gateway="10.42.0")}), 400,
     "ipam.config.0.gateway", ["'10.42.0' is not a valid gateway IP address"]),
    ("gateway-without-subnet", create({"name": "dw-x", "ipam": {"config": [{"gateway": "10.42.0.1"}]}}), 400,
     "ipam.config.0.gateway", ["needs the subnet"]),
    ("ip-range-outside", create({"name": "dw-x", **v4("10.42.0.0/24", ip_range="10.44.0.0/28")}), 400,
     "ipam.config.0.ip_range", ["IP range 10.44.0.0/28 is outside the subnet 10.42.0.0/24"]),
    ("ip-range-larger", create({"name": "dw-x", **v4("10.42.0.0/24", ip_range="10.42.0.0/16")}), 400,
     "ipam.config.0.ip_range", ["larger than the subnet 10.42.0.0/24"]),
    ("aux-outside", create({"name": "dw-x", **v4("10.42.0.0/24", aux_addresses={"router": "10.47.0.5"})}), 400,
     "ipam.config.0.aux_addresses", ["router=10.47.0.5 is outside the subnet"]),
    ("ipv6-subnet-without-ipv6", create({"name": "dw-x", **v4("fd00:42::/64")}), 400, "ipam.config.0.subnet",
     ["IPv6 subnet", "turn on IPv6"]),
    ("ipv6-without-ipv6-subnet", create({"name": "dw-x", "enable_ipv6": True}), 400, "enable_ipv6",
     ["no default IPv6 pool", "give an IPv6 subnet"]),
    ("ipv6-gateway-in-v4-subnet", create({"name": "dw-x", **v4("10.42.0.0/24", gateway="fd00:42::1")}), 400,
     "ipam.config.0.gateway", ["outside the subnet"]),
    ("two-v4-subnets-on-bridge", create({"name": "dw-x", "ipam": {"config": [{"subnet": "10.42.0.0/24"},
                                                                             {"subnet": "10.43.0.0/24"}]}}), 400,
     "ipam.config.1.subnet", ["one IPv4 subnet"]),
    ("overlap", create({"name": "dw-x", **v4("10.40.0.0/16")}), 409, "ipam.config.0.subnet",
     ["10.40.0.0/16 overlaps 10.40.0.0/24 of network 'dw-base'"]),
    ("overlap-with-ip-range", create({"name": "dw-x", **v4("10.40.0.0/16", ip_range="10.40.128.0/24")}), 409,
     "ipam.config.0.subnet", ["of network 'dw-base'"]),
    ("overlap-default-bridge", create({"name": "dw-x", **v4("172.17.5.0/24")}), 409, "ipam.config.0.subnet",
     ["network 'bridge'"]),
    ("duplicate-name", create({"name": "dw-base"}), 409, "name", ["A network named 'dw-base' already exists"]),
    ("predefined-bridge", create({"name": "bridge"}), 409, "name", ["predefined"]),
    ("predefined-host", create({"name": "host"}), 409, "name", ["predefined"]),
    ("predefined-none", create({"name": "none"}), 409, "name", ["predefined"]),
    ("bad-name", create({"name": "my\tnet"}), 400, "name", ["control characters"]),  # "my net!" is Docker's: taken
    ("host-driver", create({"name": "dw-x", "driver": "host"}), 409, "driver", ["exactly one network"]),
    ("unknown-driver", create({"name": "dw-x", "driver": "nosuchdriver"}), 400, "driver",
     ["no network driver 'nosuchdriver'", "bridge"]),
    ("overlay-without-swarm", create({"name": "dw-x", "driver": "overlay"}), 409, "driver", ["not a swarm manager"]),
    ("macvlan-without-parent", create({"name": "dw-x", "driver": "macvlan"}), 400, "options.parent",
     ["needs a parent interface"]),
    ("macvlan-parent-operator", create({"name": "dw-x", "driver": "macvlan", "options": {"parent": "nosuch0"}}), 403,
     "options.parent", ["admin role (network.host_interface)"]),
    ("macvlan-missing-parent", create({"name": "dw-x", "driver": "macvlan", "options": {"parent": "nosuch0"}}), 400,
     "options.parent", ["no interface 'nosuch0' to use as the parent"], "admin"),
    ("macvlan-missing-vlan-parent", create({"name": "dw-x", "driver": "macvlan", "options": {"parent": "nosuch0.7"}}),
     400, "options.parent", ["no interface 'nosuch0' to use as the parent", "needs its interface"], "admin"),
    ("macvlan-loopback-parent", create({"name": "dw-x", "driver": "macvlan", "options": {"parent": "lo"}}), 400,
     "options.parent", ["loopback"], "admin"),
    ("bad-mtu", create({"name": "dw-x", "options": {"com.docker.network.driver.mtu": "big"}}), 400,
     "options.com.docker.network.driver.mtu", ["MTU", "68 to 65535"]),
    ("bad-icc", create({"name": "dw-x", "options": {"com.docker.network.bridge.enable_icc": "maybe"}}), 400,
     "options.com.docker.network.bridge.enable_icc", ["true or false"]),
    ("bridge-name-operator", create({"name": "dw-x", "options": {"com.docker.network.bridge.name": "dwnew0"}}), 403,
     "options.com.docker.network.bridge.name", ["admin role (network.host_interface)"]),
    ("bridge-name-taken", create({"name": "dw-x", "options": {"com.docker.network.bridge.name": "docker0"}}), 409,
     "options.com.docker.network.bridge.name", ["'bridge' already uses the Linux bridge docker0"], "admin"),
    ("unknown-ipam-driver", create({"name": "dw-x", "ipam": {"driver": "nosuchipam"}}), 400, "ipam.driver",
     ["no IPAM driver 'nosuchipam'", "default, null"]),
    ("null-ipam-on-a-bridge", create({"name": "dw-x", "ipam": {"driver": "null"}}), 400, "ipam.driver", ["pool"]),
    ("aux-is-the-implied-gateway", create({"name": "dw-x", **v4("10.46.0.0/24", ip_range="10.46.0.64/26",
                                                                 aux_addresses={"r": "10.46.0.64"})}), 400,
     "ipam.config.0.aux_addresses", ["r=10.46.0.64", "gateway", "IP range"]),
    ("remove-bridge", delete("bridge"), 403, None, ["predefined network"]),
    ("remove-host", delete("host"), 403, None, ["predefined network"]),
    ("remove-none", delete("none"), 403, None, ["predefined network"]),
    ("remove-in-use", delete("dw-base"), 409, None, ["still used by dw-c1", "disconnect"]),
    ("remove-unknown", delete("dw-nosuch"), 404, "network", ["no network 'dw-nosuch'"]),
    ("fixed-ip-no-user-subnet", connect("dw-auto", {"container": "dw-c2", "ipv4_address": "{auto_ip}"}), 400,
     "ipv4_address", ["created with --subnet"]),
    ("fixed-ip-outside", connect("dw-base", {"container": "dw-c2", "ipv4_address": "10.99.0.5"}), 400,
     "ipv4_address", ["10.99.0.5 is outside the subnet of 'dw-base' (10.40.0.0/24)"]),
    ("fixed-ip-taken", connect("dw-base", {"container": "dw-c2", "ipv4_address": "10.40.0.10"}), 409,
     "ipv4_address", ["10.40.0.10 is already taken on 'dw-base' by container 'dw-c1'"]),
    ("fixed-ip-gateway", connect("dw-base", {"container": "dw-c2", "ipv4_address": "10.40.0.1"}), 409,
     "ipv4_address", ["taken", "gateway"]),
    ("fixed-ip-implied-gateway", connect("dw-nogw", {"container": "dw-c2", "ipv4_address": "10.45.0.1"}), 409,
     "ipv4_address", ["taken", "gateway", "first address of the subnet"]),
    ("fixed-ip-broadcast", connect("dw-base", {"container": "dw-c2", "ipv4_address": "10.40.0.255"}), 400,
     "ipv4_address", ["broadcast address"]),
    ("fixed-ip-not-an-ip", connect("dw-base", {"container": "dw-c2", "ipv4_address": "10.40.0.999"}), 400,
     "ipv4_address", ["'10.40.0.999' is not a valid IPv4 address"]),
    ("fixed-ipv6-on-v4-network", connect("dw-base", {"container": "dw-c2", "ipv6_address": "fd00::5"}), 400,
     "ipv6_address", ["IPv6 off"]),
    ("fixed-ip-default-bridge", connect("bridge", {"container": "dw-c3", "ipv4_address": "172.17.0.40"}), 400,
     "ipv4_address", ["user-defined networks only"]),
    ("alias-default-bridge", connect("bridge", {"container": "dw-c3", "aliases": ["db"]}), 400,
     "aliases", ["user-defined networks only"]),
    ("connect-twice", connect("dw-base", {"container": "dw-c1"}), 409, "container",
     ["'dw-c1' is already connected to 'dw-base' with address 10.40.0.10"]),
    ("connect-unknown-container", connect("dw-base", {"container": "dw-nosuch"}), 404, "container",
     ["no container 'dw-nosuch'"]),
    ("connect-unknown-network", connect("dw-nosuch", {"container": "dw-c2"}), 404, "network",
     ["no network 'dw-nosuch'"]),
    ("connect-to-host", connect("host", {"container": "dw-c2"}), 400, "network", ["network mode host"]),
    ("connect-link-unknown", connect("dw-base", {"container": "dw-c2", "links": ["dw-nosuch:db"]}), 404, "links",
     ["no container 'dw-nosuch'"]),
    ("connect-bad-alias", connect("dw-base", {"container": "dw-c2", "aliases": ["no spaces"]}), 400, "aliases",
     ["not a valid alias"]),
    ("connect-no-container", connect("dw-base", {}), 400, "container", ["required"]),
    ("disconnect-not-connected", disconnect("dw-base", {"container": "dw-c2"}), 409, "container",
     ["'dw-c2' is not connected to 'dw-base'"]),
    ("disconnect-unknown-container", disconnect("dw-base", {"container": "dw-nosuch"}), 404, "container",
     ["no container"]),
    ("malformed-json-create", ("raw", BASE, '{"name": "dw-x", '), 400, None, ["could not be read"]),
    ("malformed-json-connect", ("raw", f"{BASE}dw-base/connect/", '{"container": '), 400, None, ["could not be read"]),
    ("json-not-an-object", ("raw", BASE, '["dw-x"]'), 400, None, ["Expected a dictionary"]),
    ("wrong-type", create({"name": "dw-x", "internal": "perhaps"}), 400, "internal", ["valid boolean"]),
]


@pytest.fixture
def scene(host, engine, run_busybox):
    """dw-base 10.40.0.0/24 with dw-c1 on 10.40.0.10; dw-auto (subnet chosen by the engine);
    dw-nogw 10.45.0.0/24 without a gateway (the engine takes 10.45.0.1 and does not list it);
    dw-c2 on the default bridge only; dw-c3 on dw-auto only."""
    from docker.types import IPAMConfig, IPAMPool

    base = engine.networks.create("dw-base", ipam=IPAMConfig(pool_configs=[IPAMPool(subnet="10.40.0.0/24",
                                                                                 gateway="10.40.0.1")]))
    auto = engine.networks.create("dw-auto")
    engine.networks.create("dw-nogw", ipam=IPAMConfig(pool_configs=[IPAMPool(subnet="10.45.0.0/24")]))
    c1 = run_busybox("dw-c1")
    base.connect(c1, ipv4_address="10.40.0.10")
    run_busybox("dw-c2")
    run_busybox("dw-c3", network="dw-auto")
    auto_subnet = engine.api.inspect_network(auto.id)["IPAM"]["Config"][0]["Subnet"]
    # The engine's pool depends on what earlier tests used (172.x/16, later 192.168.x/20).
    return {"auto_ip": str(ipaddress.ip_network(auto_subnet)[50])}


@pytest.mark.parametrize("request_, status, field, words, role", [(*c[1:5], c[5] if len(c) > 5 else "operator")
                                                                  for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_clearly_and_changes_nothing(api_as, engine, scene, request_, status, field, words, role):
    client = api_as(role)
    before = engine_snapshot(engine)
    method, url, body = request_
    if method == "raw":
        r = client.post(url, data=body, content_type="application/json")
    elif method == "delete":
        r = client.delete(url)
    else:
        body = json.loads(json.dumps(body).replace("{auto_ip}", scene["auto_ip"]))
        r = client.post(url, body, format="json")
    data = r.json()
    assert r.status_code == status, data
    for w in words:
        assert w in data["detail"], data
    if field:
        assert field in data["errors"], data
    assert engine_snapshot(engine) == before
    if data["code"] not in ("invalid", "malformed_request"):  # reached a service: the refusal is logged
        row = Activity.objects.get(username=client.user.username)
        assert row.outcome in ("failed", "refused") and row.detail["message"] == data["detail"]


def test_a_name_equal_to_another_networks_id_prefix_addresses_the_named_one(api_as, host, engine):
    """The engine resolves full id, then name, then id prefix; so do we, then use the full id."""
    client = api_as("operator")
    victim = engine.networks.create("dw-victim")
    prefix = victim.id[:6]
    r = client.post(BASE, {"name": prefix}, format="json")
    assert r.status_code == 201, r.json()
    named_id = r.json()["id"]
    r = client.delete(f"{BASE}{prefix}/")
    assert r.status_code == 204
    ids = {n.id for n in engine.networks.list()}
    assert victim.id in ids and named_id not in ids
