"""Door 12: a refusal changes nothing (networks).

On a network made with `--subnet 10.250.0.0/24 --ip-range 10.250.0.128/25` and no `--gateway`,
the engine takes 10.250.0.128 for the gateway without listing it. Connecting a container with
that address is refused by the engine only after it wrote the container's entry for the network:
a ghost entry that keeps the container from starting again, and the mirror no longer equals
`docker inspect`. Proof it failed: the refusal is a 409 on the field, `docker inspect` shows no
entry for the network, the container restarts, the API's view equals the engine's. The same
for `docker run --ip`. And IPAM driver and options are sent to the engine, or refused."""
from __future__ import annotations

import docker.errors
import pytest

from dockerweb.core.models import Activity
from dockerweb.inventory.services import container_sync
from tests.networks.conftest import IMAGE, engine_snapshot

pytestmark = pytest.mark.django_db

BASE = "/api/hosts/local/networks/"
RANGED = {"name": "dw-ghost", "ipam": {"config": [{"subnet": "10.250.0.0/24", "ip_range": "10.250.0.128/25"}]}}
GATEWAY = "10.250.0.128"


@pytest.fixture
def scene(api_as, host, engine):
    """dw-ghost made through the API by an operator; dw-ghost-c running on the default bridge."""
    client = api_as("operator")
    r = client.post(BASE, RANGED, format="json")
    assert r.status_code == 201, r.json()
    assert not engine.api.inspect_network(r.json()["id"])["IPAM"]["Config"][0].get("Gateway")  # listed nowhere
    c = engine.containers.run(IMAGE, ["sleep", "600"], name="dw-ghost-c", detach=True)
    container_sync(host=host, container_id=c.id)  # as the watcher would
    return client, r.json()["id"], c.id


def api_networks(client, cid) -> dict:
    r = client.get(f"/api/hosts/local/containers/{cid}/")
    assert r.status_code == 200, r.json()
    return r.json()["networks"]


def engine_networks(engine, cid) -> dict:
    """The container's networks as `docker inspect` shows them, in the API's shape."""
    nets = engine.api.inspect_container(cid)["NetworkSettings"]["Networks"] or {}
    existing = {n["Id"] for n in engine.api.networks()}
    return {name: {"ipv4_address": ep.get("IPAddress") or "", "ipv6_address": ep.get("GlobalIPv6Address") or "",
                   "mac_address": ep.get("MacAddress") or "", "aliases": ep.get("Aliases") or [],
                   "gateway": ep.get("Gateway") or "", "network_id": ep.get("NetworkID") or "",
                   "network_missing": bool(ep.get("NetworkID")) and ep["NetworkID"] not in existing}
            for name, ep in nets.items()}


def assert_nothing_changed(engine, client, cid, before):
    assert engine_snapshot(engine) == before
    assert "dw-ghost" not in engine_networks(engine, cid)
    assert api_networks(client, cid) == engine_networks(engine, cid)
    engine.api.restart(cid, timeout=0)
    assert engine.api.inspect_container(cid)["State"]["Running"]


def test_connect_with_the_engine_chosen_gateway_is_refused_and_changes_nothing(engine, scene):
    client, _, cid = scene
    before = engine_snapshot(engine)
    r = client.post(f"{BASE}dw-ghost/connect/", {"container": "dw-ghost-c", "ipv4_address": GATEWAY}, format="json")
    body = r.json()
    assert r.status_code == 409, body
    assert body["field"] == "ipv4_address" and "gateway" in body["detail"] and "first address of the IP range" in body["detail"]
    assert_nothing_changed(engine, client, cid, before)
    # any other address of the range is fine
    r = client.post(f"{BASE}dw-ghost/connect/", {"container": "dw-ghost-c", "ipv4_address": "10.250.0.200"},
                    format="json")
    assert r.status_code == 200, r.json()
    assert engine_networks(engine, cid)["dw-ghost"]["gateway"] == GATEWAY  # what the engine really picked


def test_the_engine_chosen_gateway_without_ip_range_and_in_ipv6_is_taken_too(api_as, host, engine):
    client = api_as("operator")
    r = client.post(BASE, {"name": "dw-ghost6", "enable_ipv6": True, "ipam": {"config": [
        {"subnet": "10.249.0.0/24"}, {"subnet": "fd00:250::/64", "ip_range": "fd00:250::100/120"}]}}, format="json")
    assert r.status_code == 201, r.json()
    c = engine.containers.run(IMAGE, ["sleep", "600"], name="dw-ghost6-c", detach=True)
    before = engine_snapshot(engine)
    for body, field in (({"ipv4_address": "10.249.0.1"}, "ipv4_address"),
                        ({"ipv6_address": "fd00:250::100"}, "ipv6_address")):
        r = client.post(f"{BASE}dw-ghost6/connect/", {"container": "dw-ghost6-c", **body}, format="json")
        assert r.status_code == 409 and r.json()["field"] == field and "gateway" in r.json()["detail"], r.json()
    assert engine_snapshot(engine) == before
    r = client.post(f"{BASE}dw-ghost6/connect/", {"container": "dw-ghost6-c"}, format="json")
    assert r.status_code == 200, r.json()
    ep = engine.api.inspect_container(c.id)["NetworkSettings"]["Networks"]["dw-ghost6"]
    assert (ep["Gateway"], ep["IPv6Gateway"]) == ("10.249.0.1", "fd00:250::100")  # the rule, as the engine applies it


def test_a_half_made_entry_the_engine_leaves_is_undone(engine, scene, monkeypatch):
    """The second line: with the check before the engine taken away, the engine itself refuses
    after writing the ghost entry, and dockerweb takes it back."""
    from dockerweb.networks import validation

    client, network_id, cid = scene
    # What the engine does on its own (the repro), on a witness container.
    witness = engine.containers.run(IMAGE, ["sleep", "600"], name="dw-ghost-witness", detach=True)
    with pytest.raises(docker.errors.APIError, match="Address already in use"):
        engine.api.connect_container_to_network(witness.id, network_id, ipv4_address=GATEWAY)
    if "dw-ghost" not in engine_networks(engine, witness.id):
        pytest.skip("this engine no longer leaves a ghost entry behind a refused connect")
    with pytest.raises(docker.errors.APIError):
        engine.api.restart(witness.id, timeout=0)  # the ghost keeps it from starting again

    monkeypatch.setattr(validation, "check_connect", lambda **kwargs: None)
    before = engine_snapshot(engine)
    r = client.post(f"{BASE}dw-ghost/connect/", {"container": "dw-ghost-c", "ipv4_address": GATEWAY}, format="json")
    body = r.json()
    assert r.status_code == 409 and body["field"] == "ipv4_address", body
    assert "half-made" not in body["detail"]  # it was undone, so there is nothing to tell
    row = Activity.objects.filter(action="network.connect", username=client.user.username).latest("at")
    assert (row.outcome, row.detail["undo"]) == ("failed", "removed")
    assert_nothing_changed(engine, client, cid, before)


def test_docker_run_with_the_engine_chosen_gateway_leaves_nothing(engine, scene, monkeypatch):
    client, _, _ = scene
    run = {"name": "dw-ghost-run", "image": IMAGE, "command": ["sleep", "600"], "network": "dw-ghost",
           "ipv4_address": GATEWAY}
    before = engine_snapshot(engine)
    r = client.post("/api/hosts/local/containers/", run, format="json")
    assert r.status_code == 409 and r.json()["field"] == "ipv4_address" and "gateway" in r.json()["detail"], r.json()
    assert engine_snapshot(engine) == before
    # without the check, the engine refuses at start; the container is taken back, mirror included
    import dockerweb.containers.services as container_services

    monkeypatch.setattr(container_services, "ipam_reserved", lambda *args, **kwargs: {})
    r = client.post("/api/hosts/local/containers/", run, format="json")
    assert r.status_code == 409 and r.json()["field"] == "ipv4_address", r.json()
    assert engine_snapshot(engine) == before
    assert client.get("/api/hosts/local/containers/dw-ghost-run/").status_code == 404


def test_an_unknown_ipam_driver_is_refused_and_a_known_one_is_sent_with_its_options(api_as, host, engine):
    client = api_as("operator")
    before = engine_snapshot(engine)
    r = client.post(BASE, {"name": "dw-ipam", "ipam": {"driver": "nosuchipam"}}, format="json")
    body = r.json()
    assert r.status_code == 400 and body["field"] == "ipam.driver", body
    assert "no IPAM driver 'nosuchipam'" in body["detail"] and "default" in body["detail"]
    assert engine_snapshot(engine) == before

    r = client.post(BASE, {"name": "dw-ipam", "ipam": {"driver": "default", "options": {"dw.test": "1"},
                                                       "config": [{"subnet": "10.248.0.0/24"}]}}, format="json")
    assert r.status_code == 201, r.json()
    ipam = engine.api.inspect_network(r.json()["id"])["IPAM"]
    assert (ipam["Driver"], ipam["Options"]) == ("default", {"dw.test": "1"})
    shown = client.get(f"{BASE}dw-ipam/").json()["ipam"]
    assert (shown["driver"], shown["options"]) == ("default", {"dw.test": "1"})
    assert shown["config"][0]["subnet"] == "10.248.0.0/24"
