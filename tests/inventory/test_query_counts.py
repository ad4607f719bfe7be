"""Per-request cost of the read API: the list endpoints and the topology API make the same number
of database queries for a host with N objects and one with 3N.

The mirror is written as rows (the endpoints only read the mirror; building hundreds of real
containers on a shared 2-core machine takes minutes). Every relation the serializers and the
graph follow is there: containers on one or two user networks and on the default bridge,
entries for a network that is gone, published and exposed ports, named volumes shared by
several containers, binds, tmpfs, legacy links and `container:` network modes."""
from __future__ import annotations

import secrets

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dockerweb.inventory.models import Container, Endpoint, Host, Mount, Network, PortBinding, Volume

pytestmark = pytest.mark.django_db

ENDPOINTS = ("networks", "containers", "volumes", "topology")


def _hex() -> str:
    return secrets.token_hex(32)


def mirror_rows(name: str, n: int) -> Host:
    """A host `name` whose mirror holds `n` containers, `n // 5` user networks (plus bridge, host,
    none) and `n // 2` volumes, wired as described in the module docstring."""
    host = Host.objects.create(name=name, url="unix:///nonexistent/dockerweb-query-counts.sock", status="ok",
                               engine_version="27.0", info={"swarm": "inactive"})
    nets = [Network(host=host, engine_id=_hex(), name="bridge", driver="bridge", scope="local",
                    ipam_config=[{"subnet": "172.17.0.0/16", "gateway": "172.17.0.1"}]),
            Network(host=host, engine_id=_hex(), name="host", driver="host", scope="local"),
            Network(host=host, engine_id=_hex(), name="none", driver="null", scope="local")]
    for i in range(n // 5):
        nets.append(Network(host=host, engine_id=_hex(), name=f"qc-net{i}", driver="bridge", scope="local",
                            internal=i % 4 == 3, labels={"team": f"t{i % 3}"},
                            ipam_config=[{"subnet": f"10.{i}.0.0/16", "gateway": f"10.{i}.0.1", "ip_range": "",
                                          "aux_addresses": {}}], raw={"Name": f"qc-net{i}", "pad": "x" * 2000}))
    Network.objects.bulk_create(nets)
    user_nets = nets[3:]
    vols = Volume.objects.bulk_create([
        Volume(host=host, name=f"qc-vol{i}", driver="local", mountpoint=f"/var/lib/docker/volumes/qc-vol{i}/_data",
               labels={"backup": "daily"} if i % 2 else {}, raw={"Name": f"qc-vol{i}", "pad": "x" * 1000})
        for i in range(n // 2)])
    ctrs = []
    for i in range(n):
        if i % 10 == 1:
            mode = "host"
        elif i % 10 == 2:
            mode = "none"
        elif i % 10 == 3:
            mode = "container:placeholder"
        elif i % 10 == 4:
            mode = "bridge"
        else:
            mode = user_nets[i % len(user_nets)].name
        ctrs.append(Container(
            host=host, engine_id=_hex(), name=f"qc-c{i:04d}", image="example/app:1.0",
            state=("running", "exited", "created")[i % 3], status="Up 2 minutes", network_mode=mode,
            labels={"tier": ("web", "db", "cache")[i % 3], "n": str(i)},
            links=[f"/qc-c{i - 1:04d}:/qc-c{i:04d}/prev"] if i % 10 == 5 and i else [],
            privileged=i % 17 == 0,
            raw={"Id": "x", "Config": {"Env": ["A=1"] * 20}, "HostConfig": {"Tmpfs": {"/run": "rw"} if i % 9 == 0 else {}},
                 "pad": "x" * 4000}))
    for i, c in enumerate(ctrs):
        if c.network_mode == "container:placeholder":
            c.network_mode = f"container:{ctrs[i - 1].engine_id}"
    Container.objects.bulk_create(ctrs)
    by_name = {net.name: net for net in nets}
    eps, mounts, ports = [], [], []
    for i, c in enumerate(ctrs):
        if c.network_mode.startswith("container:"):
            pass
        else:
            net = by_name[c.network_mode]
            running = c.state == "running"
            eps.append(Endpoint(container=c, network=net, network_name=net.name, network_engine_id=net.engine_id,
                                endpoint_id=_hex() if running else "",
                                ipv4_address=f"10.{i % 200}.{i // 200}.{i % 250 + 2}" if running else "",
                                mac_address="02:42:ac:11:00:02" if running else "", aliases=[c.name, c.engine_id[:12]],
                                ipam_config={"ipv4_address": "10.0.0.9"} if i % 13 == 0 else {}))
            if c.network_mode.startswith("qc-net") and i % 4 == 0:  # a second network
                other = user_nets[(i + 1) % len(user_nets)]
                eps.append(Endpoint(container=c, network=other, network_name=other.name,
                                    network_engine_id=other.engine_id, endpoint_id=_hex(),
                                    ipv4_address=f"10.{(i + 1) % 200}.9.{i % 250 + 2}"))
            if i % 11 == 0:  # an entry for a network that was removed
                eps.append(Endpoint(container=c, network=None, network_name=f"qc-gone{i}", network_engine_id=_hex()))
        if i % 2 == 0:
            ports.append(PortBinding(container=c, container_port=80, protocol="tcp", host_ip="127.0.0.1",
                                     host_port=20000 + i))
        if i % 3 == 0:
            ports.append(PortBinding(container=c, container_port=53, protocol="udp", host_ip="", host_port=None))
        v = vols[i % len(vols)]  # every volume is used by about two containers
        mounts.append(Mount(container=c, type="volume", volume=v, name=v.name, destination="/data",
                            source=v.mountpoint, read_only=i % 8 == 1))
        if i % 4 == 3:
            mounts.append(Mount(container=c, type="bind", source=f"/srv/conf{i % 7}", destination="/etc/app",
                                read_only=True))
        if i % 9 == 0:
            mounts.append(Mount(container=c, type="tmpfs", destination="/tmp"))
    Endpoint.objects.bulk_create(eps)
    Mount.objects.bulk_create(mounts)
    PortBinding.objects.bulk_create(ports)
    return host


def _queries(client: APIClient, url: str) -> tuple[int, list[str], dict | list]:
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(url, HTTP_ACCEPT="application/json")
    assert resp.status_code == 200, resp.content[:500]
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries], resp.json()


def _sizes(body) -> int:
    return len(body["nodes"]) + len(body["edges"]) if isinstance(body, dict) else len(body)


@pytest.mark.parametrize("auth", ["token", "session"])
def test_each_read_costs_the_same_queries_at_n_and_3n(make_user, auth):
    user = make_user("viewer")
    client = APIClient()
    if auth == "token":
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    else:
        assert client.login(username=user.username, password=user.test_password)
    small, large = mirror_rows("qc-small", 40), mirror_rows("qc-large", 120)
    for what in ENDPOINTS:
        counts, sizes = {}, {}
        for host in (small, large):
            # page_size: the whole list in one answer, so every row is serialized
            url = f"/api/hosts/{host.name}/{what}/" + ("?page_size=1000" if what != "topology" else "")
            _queries(client, url)  # first request of a kind may warm per-process caches
            counts[host.name], sql, body = _queries(client, url)
            sizes[host.name] = _sizes(body)
        assert sizes["qc-large"] > 2 * sizes["qc-small"], (what, sizes)  # the answer did grow (about threefold)
        assert counts["qc-small"] == counts["qc-large"], (
            f"{what}: {counts['qc-small']} queries at {sizes['qc-small']} items, {counts['qc-large']} at "
            f"{sizes['qc-large']}:\n" + "\n".join(sql))
        # what a request costs at all (auth, host, rows, relations): a handful, not dozens
        assert counts["qc-large"] <= 10, (what, counts["qc-large"], sql)
        print(f"{auth} {what}: {counts['qc-large']} queries for {sizes['qc-small']} and {sizes['qc-large']} items")


def test_pages_of_a_list_cost_the_same_queries(make_user):
    """The default page (100) of 120 containers, and its second page, as of 40."""
    user = make_user("viewer")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    small, large = mirror_rows("qc-small", 40), mirror_rows("qc-large", 120)
    first_small, _, body_small = _queries(client, f"/api/hosts/{small.name}/containers/")
    first_large, _, body_large = _queries(client, f"/api/hosts/{large.name}/containers/")
    second_large, _, body_second = _queries(client, f"/api/hosts/{large.name}/containers/?page=2")
    assert (len(body_small), len(body_large), len(body_second)) == (40, 100, 20)
    assert first_small == first_large == second_large


def test_list_pages_cost_the_same_queries_at_n_and_3n(make_user):
    """The HTML list pages read the same relations (a container's mounts show whether their
    volume is anonymous, a volume's users their names): no query per row either."""
    from django.test import Client

    user = make_user("viewer")
    client = Client()
    assert client.login(username=user.username, password=user.test_password)
    small, large = mirror_rows("qc-small", 40), mirror_rows("qc-large", 120)
    for page in ("networks", "containers", "volumes"):
        counts = {}
        for host in (small, large):
            url = f"/{page}/?host={host.name}"
            assert client.get(url).status_code == 200
            with CaptureQueriesContext(connection) as ctx:
                resp = client.get(url)
            assert resp.status_code == 200
            counts[host.name] = (len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries])
        assert counts["qc-small"][0] == counts["qc-large"][0], (
            f"{page}: {counts['qc-small'][0]} queries at 40 containers, {counts['qc-large'][0]} at 120:\n"
            + "\n".join(counts["qc-large"][1]))
