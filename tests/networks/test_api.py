"""Smaller API promises: roles, the activity log, reserved-looking names, the mirror."""
import pytest

from dockerweb.core.models import Activity
from dockerweb.inventory.models import Endpoint, Network

from .conftest import engine_snapshot

pytestmark = pytest.mark.django_db

BASE = "/api/hosts/local/networks/"


def test_viewer_can_preview_but_not_connect_disconnect_or_prune(api_as, host, engine, run_busybox):
    engine.networks.create("dw-role")
    run_busybox("dw-role-c", network="dw-role")
    run_busybox("dw-role-d")
    viewer = api_as("viewer")
    before = engine_snapshot(engine)
    for url, body in ((f"{BASE}dw-role/connect/", {"container": "dw-role-d"}),
                      (f"{BASE}dw-role/disconnect/", {"container": "dw-role-c"}),
                      (f"{BASE}prune/", {}), (f"{BASE}remove/", {"networks": ["dw-role"]})):
        r = viewer.post(url, body, format="json")
        assert r.status_code in (200, 403), r.json()
        if r.status_code == 200:  # remove several answers per network
            assert "operator role" in r.json()["errors"]["dw-role"]
        else:
            assert "You need the operator role" in r.json()["detail"]
    assert engine_snapshot(engine) == before
    refused = set(Activity.objects.filter(username=viewer.user.username, outcome="refused").values_list("action", flat=True))
    assert refused == {"network.connect", "network.disconnect", "network.prune", "network.remove"}
    assert viewer.post(f"{BASE}prune/", {"dry_run": True}, format="json").json()["removed"] == []


def test_networks_named_like_fixed_paths_are_reachable(api_as, host, engine):
    client = api_as("operator")
    for name in ("prune", "remove"):
        r = client.post(BASE, {"name": name}, format="json")
        assert r.status_code == 201, r.json()
        got = client.get(f"{BASE}{name}/")
        assert got.status_code == 200 and got.json()["id"] == r.json()["id"]
        assert client.delete(f"{BASE}{r.json()['id']}/").status_code == 204
    assert not {"prune", "remove"} & {n.name for n in engine.networks.list()}


def test_mirror_follows_the_engines_answer(api_as, host, engine, run_busybox):
    """Connect/disconnect update endpoints at once, from the engine (not from the request)."""
    client = api_as("operator")
    r = client.post(BASE, {"name": "dw-mirror", "ipam": {"config": [{"subnet": "10.54.0.0/24"}]}}, format="json")
    net = Network.objects.get(engine_id=r.json()["id"])
    assert net.created is not None and net.scope == "local" and net.raw["Name"] == "dw-mirror"  # the engine's facts
    c = run_busybox("dw-mirror-c")
    r = client.post(f"{BASE}dw-mirror/connect/", {"container": c.id[:12], "aliases": ["m"]}, format="json")
    assert r.status_code == 200, r.json()
    ep = Endpoint.objects.get(network=net, container__engine_id=c.id)
    assert ep.ipv4_address == engine.api.inspect_container(c.id)["NetworkSettings"]["Networks"]["dw-mirror"]["IPAddress"]
    assert "m" in ep.aliases
    r = client.post(f"{BASE}{net.engine_id}/disconnect/", {"container": "dw-mirror-c"}, format="json")
    assert r.status_code == 200
    assert not Endpoint.objects.filter(network=net).exists()
    # a network removed behind dockerweb's back is forgotten when addressed, and is a 404
    engine.networks.get(net.engine_id).remove()
    assert client.delete(f"{BASE}dw-mirror/").status_code == 404
    assert not Network.objects.filter(engine_id=net.engine_id).exists()


def test_a_fixed_address_held_by_a_stopped_container_is_taken(api_as, host, engine, run_busybox):
    """The engine would accept it and fail only when the stopped container starts again."""
    from dockerweb.inventory.services import host_reconcile

    client = api_as("operator")
    assert client.post(BASE, {"name": "dw-hold", "ipam": {"config": [{"subnet": "10.55.0.0/24"}]}},
                       format="json").status_code == 201
    holder = run_busybox("dw-holder")
    assert client.post(f"{BASE}dw-hold/connect/", {"container": "dw-holder", "ipv4_address": "10.55.0.9"},
                       format="json").status_code == 200
    holder.stop(timeout=1)
    host_reconcile(host=host)
    run_busybox("dw-taker")
    before = engine_snapshot(engine)
    r = client.post(f"{BASE}dw-hold/connect/", {"container": "dw-taker", "ipv4_address": "10.55.0.9"}, format="json")
    assert r.status_code == 409 and "stopped container 'dw-holder'" in r.json()["detail"], r.json()
    assert engine_snapshot(engine) == before
