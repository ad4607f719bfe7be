"""GET /api/hosts/{host}/topology/ against the real engine: exactly the walkthrough's nodes and edges."""
import pytest

from dockerweb.inventory.models import Network
from dockerweb.inventory.services import container_sync, host_reconcile, network_sync
from dockerweb.topology import selectors, services

from .conftest import apply_ops, by_id

pytestmark = pytest.mark.django_db


def _published(container) -> list[tuple[str, int, str, int]]:
    """(proto, container port, host ip, host port) as the engine reports them."""
    container.reload()
    out = []
    for key, bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).items():
        port, proto = key.split("/")
        for b in bindings or []:
            out.append((proto, int(port), b["HostIp"], int(b["HostPort"])))
    return sorted(out)


def test_walkthrough_topology_has_exactly_the_expected_nodes_and_edges(host, walkthrough, api_as, django_assert_max_num_queries):
    w = walkthrough
    host_reconcile(host=host)
    nets = {n.name: n.engine_id for n in Network.objects.filter(host=host)}
    assert set(nets) == {"bridge", "host", "none", "dw-topo-app"}
    web, db, app, hostc, nonec, side = (c.id for c in w.containers())

    # Each -p form, as the engine resolved it (random ports and the engine's default address).
    web_ports, db_ports, app_ports = _published(w.web), _published(w.db), _published(w.app)
    assert web_ports == [("tcp", 80, "127.0.0.1", 18081)]
    assert [(p, cp, hp) for p, cp, _, hp in db_ports] == [("tcp", 80, 18080)]
    assert [(p, cp, ip) for p, cp, ip, _ in app_ports] == [("tcp", 80, "127.0.0.1"), ("udp", 53, app_ports[1][2])]
    ports = {cid: ps for cid, ps in ((web, web_ports), (db, db_ports), (app, app_ports))}
    port_ids = {f"port:{cid}:{p}:{cp}:{ip}:{hp}": cid for cid, ps in ports.items() for p, cp, ip, hp in ps}

    expected_nodes = {
        "host:local": "host",
        **{f"net:{i}": "network" for i in nets.values()},
        **{f"ctr:{c}": "container" for c in (web, db, app, hostc, nonec, side)},
        "vol:dw-topo-data": "volume", f"bind:{w.bind_dir}": "volume", f"tmpfs:{web}:/cache": "volume",
        f"tmpfs:{db}:/scratch": "volume",
        **{pid: "port" for pid in port_ids},
    }
    expected_edges = {
        # the host's bridge interfaces and its own namespace
        f"hnet:{nets['bridge']}": ("attached", "host:local", f"net:{nets['bridge']}"),
        f"hnet:{nets['dw-topo-app']}": ("attached", "host:local", f"net:{nets['dw-topo-app']}"),
        f"hnet:{nets['host']}": ("attached", "host:local", f"net:{nets['host']}"),
        # attachments
        f"att:{web}:{nets['dw-topo-app']}": ("attached", f"ctr:{web}", f"net:{nets['dw-topo-app']}"),
        f"att:{db}:{nets['bridge']}": ("attached", f"ctr:{db}", f"net:{nets['bridge']}"),
        f"att:{app}:{nets['bridge']}": ("attached", f"ctr:{app}", f"net:{nets['bridge']}"),
        f"att:{hostc}:{nets['host']}": ("attached", f"ctr:{hostc}", f"net:{nets['host']}"),
        f"att:{nonec}:{nets['none']}": ("attached", f"ctr:{nonec}", f"net:{nets['none']}"),
        # container: mode and the legacy link
        f"netns:{side}": ("shares_netns", f"ctr:{side}", f"ctr:{web}"),
        f"link:{app}:database": ("link", f"ctr:{app}", f"ctr:{db}"),
        # mounts
        f"mnt:{db}:/data": ("mounts", f"ctr:{db}", "vol:dw-topo-data"),
        f"mnt:{app}:/data": ("mounts", f"ctr:{app}", "vol:dw-topo-data"),
        f"mnt:{web}:/cfg": ("mounts", f"ctr:{web}", f"bind:{w.bind_dir}"),
        f"mnt:{web}:/cache": ("mounts", f"ctr:{web}", f"tmpfs:{web}:/cache"),
        f"mnt:{db}:/scratch": ("mounts", f"ctr:{db}", f"tmpfs:{db}:/scratch"),
        # publishing: host address -> container
        **{f"pub:{pid}": ("publishes", pid, f"ctr:{cid}") for pid, cid in port_ids.items()},
    }

    client = api_as("viewer")
    with django_assert_max_num_queries(12):  # token auth, host lookup, and a handful for the graph
        resp = client.get("/api/hosts/local/topology/")
    assert resp.status_code == 200
    graph = resp.json()
    nodes, edges = by_id(graph)
    assert {i: n["kind"] for i, n in nodes.items()} == expected_nodes
    assert {i: (e["kind"], e["source"], e["target"]) for i, e in edges.items()} == expected_edges

    # The facts each node and edge carries.
    att = edges[f"att:{web}:{nets['dw-topo-app']}"]["data"]
    assert att["ip"] == "172.30.0.10" and "www" in att["aliases"] and att["fixed_ip"] == "172.30.0.10"
    assert edges[f"att:{db}:{nets['bridge']}"]["data"]["ip"].startswith("172.")
    assert edges[f"netns:{side}"]["data"]["mode"] == "container:dw-topo-web"
    assert edges[f"link:{app}:database"]["data"]["alias"] == "database"
    assert edges[f"mnt:{db}:/data"]["data"]["read_only"] is False
    assert edges[f"mnt:{app}:/data"]["data"]["read_only"] is True
    assert edges[f"mnt:{web}:/cfg"]["data"]["read_only"] is True
    assert nodes[f"tmpfs:{web}:/cache"]["data"]["type"] == "tmpfs"
    assert nodes[f"bind:{w.bind_dir}"]["data"]["type"] == "bind"
    assert {nodes[f"ctr:{c}"]["data"]["mode"] for c in (hostc, nonec, side, web, db)} == {"host", "none", "container", "user", "bridge"}
    assert nodes[f"ctr:{web}"]["data"]["state"] == "running" and nodes[f"ctr:{web}"]["data"]["image"].startswith("dockerweb-test/busybox")
    app_net = nodes[f"net:{nets['dw-topo-app']}"]["data"]
    assert (app_net["subnets"], app_net["driver"], app_net["icc"], app_net["internal"]) == (["172.30.0.0/24"], "bridge", True, False)
    assert app_net["bridge"] == "br-" + nets["dw-topo-app"][:12]
    assert nodes[f"net:{nets['bridge']}"]["data"]["bridge"] == "docker0"
    web_port = next(p for p, c in port_ids.items() if c == web)
    assert nodes[web_port]["label"] == "127.0.0.1:18081/tcp"
    assert edges[f"pub:{web_port}"]["data"] == {"host_ip": "127.0.0.1", "host_port": 18081, "container_port": 80, "protocol": "tcp"}


def test_patches_turn_the_old_graph_into_the_new_one_with_the_same_ids(host, walkthrough, engine):
    """What a socket sends after changes equals the API's difference: same ids, same data."""
    w = walkthrough
    host_reconcile(host=host)
    state = services.topology_state_load(host=host)
    before = selectors.topology_get(host=host)

    # Behind dockerweb's back: move web to the default bridge too, stop db, remove the side-car,
    # add a container on the user network.
    engine.networks.get("bridge").connect(w.web)
    w.db.stop(timeout=0)
    w.side.remove(force=True)
    new = engine.containers.run("dockerweb-test/busybox:latest", ["sleep", "600"], name="dw-topo-new",
                                network="dw-topo-app", detach=True, ports={"8080/tcp": ("127.0.0.1", 18082)})
    changes = set()
    for cid in (w.web.id, w.db.id, w.side.id, new.id):
        container_sync(host=host, container_id=cid)
        changes.add(("container", cid))
    network_sync(host=host, network_id=w.net.id)
    changes.add(("network", w.net.id))

    ops = services.topology_patch(state=state, changes=changes)
    after = selectors.topology_get(host=host)
    patched = apply_ops(before, ops)
    assert by_id(patched) == by_id(after)
    kinds = {(o["op"], o["id"]) for o in ops}
    assert ("add", f"ctr:{new.id}") in kinds and ("remove", f"ctr:{w.side.id}") in kinds
    assert ("remove", f"netns:{w.side.id}") in kinds
    assert ("add", f"att:{w.web.id}:{engine.networks.get('bridge').id}") in kinds
    assert ("update", f"ctr:{w.db.id}") in kinds
    # Nothing untouched is sent again.
    assert not any(o["id"] == "host:local" or o["id"] == f"ctr:{w.hostc.id}" for o in ops)
    # A second pass with no change sends nothing.
    assert services.topology_patch(state=state, changes=changes) == []
    # A reconcile (host change) rereads everything and still agrees.
    assert services.topology_patch(state=state, changes={("host", "local")}) == []


def test_topology_api_needs_a_role_and_a_known_host(host, api_as, client):
    assert client.get("/api/hosts/local/topology/").status_code in (401, 403)
    assert api_as("none", "nobody").get("/api/hosts/local/topology/").status_code == 403
    resp = api_as("viewer").get("/api/hosts/nosuch/topology/")
    assert resp.status_code == 404 and "nosuch" in resp.json()["detail"]
