"""Dead ends a user could not repair from dockerweb, against the real engine:

- a stopped container whose network was removed (the engine allows it) could neither start
  (a 404 naming the network by a 64-hex id) nor be disconnected (404) — only the CLI fixed it;
- a container created but never started could not be disconnected from its network (409);
- a fixed IP held by a never-started container was not counted as taken;
- and dockerweb's own prune made the first dead end."""
from __future__ import annotations

import docker
import pytest

from tests.containers.conftest import IMAGE, run  # noqa: F401  (run: fixture)

pytestmark = pytest.mark.django_db


def _ipam(subnet: str):
    return docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])


def test_a_container_whose_network_was_removed_is_shown_disconnected_and_started(host, engine, api_as):
    from dockerweb.inventory.services import host_reconcile

    op = api_as("operator")
    net = engine.networks.create("dw-rep-gone", ipam=_ipam("10.231.0.0/24"))
    c = engine.containers.run(IMAGE, "sleep 600", name="dw-rep-stranded", network="dw-rep-gone", detach=True)
    c.stop(timeout=0)
    dead_id = net.id
    net.remove()  # the engine lets it go: the stopped container keeps its entry
    host_reconcile(host=host)

    body = op.get("/api/hosts/local/containers/dw-rep-stranded/").json()
    entry = body["networks"]["dw-rep-gone"]
    assert entry["network_missing"] is True and entry["network_id"] == dead_id
    graph = op.get("/api/hosts/local/topology/").json()
    node = next(n for n in graph["nodes"] if n["id"] == f"ctr:{c.id}")
    assert node["data"]["missing_networks"] == ["dw-rep-gone"]
    ids = {n["id"] for n in graph["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in graph["edges"])  # no edge to a missing node

    r = op.post("/api/hosts/local/containers/dw-rep-stranded/start/", {}, format="json")
    assert r.status_code == 409 and r.json()["field"] == "network", r.content
    assert "'dw-rep-gone'" in r.json()["detail"] and dead_id not in r.json()["detail"]

    # Disconnect by the dead network's id (what the page and the API show), then start.
    r = op.post(f"/api/hosts/local/networks/{dead_id}/disconnect/", {"container": "dw-rep-stranded", "force": True},
                format="json")
    assert r.status_code == 200, r.content
    assert engine.api.inspect_container(c.id)["NetworkSettings"]["Networks"] == {}
    r = op.post("/api/hosts/local/containers/dw-rep-stranded/start/", {}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "running", r.content
    assert r.json()["networks"] == {}


def test_a_never_started_container_can_be_disconnected(host, engine, api_as):
    from dockerweb.inventory.services import host_reconcile

    engine.networks.create("dw-rep-net", ipam=_ipam("10.232.0.0/24"))
    engine.containers.create(IMAGE, "sleep 600", name="dw-rep-created", network="dw-rep-net")
    host_reconcile(host=host)
    op = api_as("operator")
    entry = op.get("/api/hosts/local/containers/dw-rep-created/").json()["networks"]["dw-rep-net"]
    assert entry["network_missing"] is False and entry["network_id"] == ""
    r = op.post("/api/hosts/local/networks/dw-rep-net/disconnect/", {"container": "dw-rep-created"}, format="json")
    assert r.status_code == 200, r.content
    assert engine.api.inspect_container("dw-rep-created")["NetworkSettings"]["Networks"] == {}
    assert op.get("/api/hosts/local/containers/dw-rep-created/").json()["networks"] == {}


def test_a_fixed_ip_of_a_never_started_container_counts_as_taken(host, engine, api_as, run):
    from dockerweb.inventory.services import host_reconcile

    engine.networks.create("dw-rep-fixed", ipam=_ipam("10.233.0.0/24"))
    api = engine.api
    api.create_container(IMAGE, "sleep 600", name="dw-rep-holder", host_config=api.create_host_config(
        network_mode="dw-rep-fixed"), networking_config=api.create_networking_config(
        {"dw-rep-fixed": api.create_endpoint_config(ipv4_address="10.233.0.50")}))
    host_reconcile(host=host)
    r = run("operator", name="dw-rep-taker", command="sleep 600", network="dw-rep-fixed", ipv4_address="10.233.0.50")
    assert r.status_code == 409 and r.json()["field"] == "ipv4_address" and "dw-rep-holder" in r.json()["detail"]
    assert not engine.containers.list(all=True, filters={"name": "dw-rep-taker"})
    assert run("operator", name="dw-rep-other", command="sleep 600").status_code == 201
    r = api_as("operator", "connector").post("/api/hosts/local/networks/dw-rep-fixed/connect/",
                                            {"container": "dw-rep-other", "ipv4_address": "10.233.0.50"}, format="json")
    assert r.status_code == 409 and r.json()["field"] == "ipv4_address" and "dw-rep-holder" in r.json()["detail"]


def test_prune_keeps_networks_that_stopped_containers_are_attached_to(host, engine, api_as):
    from dockerweb.inventory.services import host_reconcile

    engine.networks.create("dw-rep-kept", ipam=_ipam("10.234.0.0/24"))
    engine.networks.create("dw-rep-unused", ipam=_ipam("10.235.0.0/24"))
    c = engine.containers.run(IMAGE, "sleep 600", name="dw-rep-sleeper", network="dw-rep-kept", detach=True)
    c.stop(timeout=0)
    engine.containers.create(IMAGE, "sleep 600", name="dw-rep-never", network="dw-rep-kept")
    host_reconcile(host=host)
    op = api_as("operator")
    preview = op.post("/api/hosts/local/networks/prune/", {"dry_run": True}, format="json").json()["removed"]
    assert "dw-rep-unused" in preview and "dw-rep-kept" not in preview
    removed = op.post("/api/hosts/local/networks/prune/", {}, format="json").json()["removed"]
    assert "dw-rep-kept" not in removed
    assert [n.name for n in engine.networks.list(names=["dw-rep-kept"])] == ["dw-rep-kept"]
    c.start()
    assert engine.containers.get("dw-rep-sleeper").status == "running"
