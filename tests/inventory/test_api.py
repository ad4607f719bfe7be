"""The read API of the mirror: filters (driver, label, state, name, network, dangling) and
pagination, on networks, containers and volumes of a host."""
from __future__ import annotations

import pytest

from dockerweb.inventory.services import host_reconcile

from .mirror import IMAGE

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(host, engine):
    """Three labelled networks, two volumes (one in use), three containers in different states."""
    for i, labels in enumerate(({"env": "prod", "team": "a"}, {"env": "dev"}, {})):
        engine.networks.create(f"dw-m-f{i}", labels=labels)
    engine.volumes.create("dw-m-fvol-used", labels={"env": "prod"})
    engine.volumes.create("dw-m-fvol-free")
    engine.containers.run(IMAGE, ["sleep", "300"], name="dw-m-frun", network="dw-m-f0", labels={"env": "prod"},
                          volumes={"dw-m-fvol-used": {"bind": "/v", "mode": "rw"}}, detach=True)
    engine.containers.create(IMAGE, ["sleep", "300"], name="dw-m-fnew", labels={"env": "dev"})
    c = engine.containers.run(IMAGE, ["true"], name="dw-m-fdone", detach=True)
    c.wait(timeout=10)
    host_reconcile(host=host)
    return host


def names(response):
    assert response.status_code == 200, response.content
    return sorted(item["name"] for item in response.json())


def test_network_filters(stocked, api_as):
    api = api_as("viewer")
    url = "/api/hosts/local/networks/"
    assert names(api.get(url, {"name": "dw-m-f"})) == ["dw-m-f0", "dw-m-f1", "dw-m-f2"]
    assert names(api.get(url, {"label": "env"})) == ["dw-m-f0", "dw-m-f1"]
    assert names(api.get(url, {"label": "env=prod"})) == ["dw-m-f0"]
    assert names(api.get(url, {"label": "env=prod", "name": "f1"})) == []
    assert names(api.get(url, {"driver": "null"})) == ["none"]
    assert "bridge" in names(api.get(url, {"driver": "bridge"}))
    assert "none" not in names(api.get(url, {"driver": "bridge"}))


def test_container_filters(stocked, api_as):
    api = api_as("viewer")
    url = "/api/hosts/local/containers/"
    assert names(api.get(url, {"state": "running"})) == ["dw-m-frun"]
    assert names(api.get(url, {"state": "created"})) == ["dw-m-fnew"]
    assert names(api.get(url, {"state": "exited"})) == ["dw-m-fdone"]
    assert names(api.get(url, {"label": "env=dev"})) == ["dw-m-fnew"]
    assert names(api.get(url, {"label": "env"})) == ["dw-m-fnew", "dw-m-frun"]
    assert names(api.get(url, {"network": "dw-m-f0"})) == ["dw-m-frun"]
    assert names(api.get(url, {"name": "fdo"})) == ["dw-m-fdone"]


def test_volume_filters(stocked, api_as):
    api = api_as("viewer")
    url = "/api/hosts/local/volumes/"
    assert names(api.get(url, {"name": "dw-m-fvol"})) == ["dw-m-fvol-free", "dw-m-fvol-used"]
    assert names(api.get(url, {"label": "env=prod"})) == ["dw-m-fvol-used"]
    assert names(api.get(url, {"name": "dw-m-fvol", "dangling": "true"})) == ["dw-m-fvol-free"]
    assert names(api.get(url, {"driver": "local", "name": "dw-m-fvol-f"})) == ["dw-m-fvol-free"]


def test_pagination_pages_through_everything_once(stocked, api_as, engine):
    api = api_as("viewer")
    url = "/api/hosts/local/networks/"
    total = len(engine.networks.list())
    first = api.get(url, {"page_size": 2})
    assert first.status_code == 200 and len(first.json()) == 2
    assert first["X-Total-Count"] == str(total)
    assert 'rel="next"' in first["Link"]
    seen, page = [], 1
    while True:
        r = api.get(url, {"page_size": 2, "page": page})
        seen += [n["id"] for n in r.json()]
        if 'rel="next"' not in r.get("Link", ""):
            break
        page += 1
    assert sorted(seen) == sorted(n.id for n in engine.networks.list())
    assert api.get(url, {"page_size": 2, "page": 999}).status_code == 404


def test_unknown_host_and_object_are_404_with_a_sentence(stocked, api_as):
    api = api_as("viewer")
    r = api.get("/api/hosts/nope/networks/")
    assert r.status_code == 404 and "no host named 'nope'" in r.json()["detail"]
    r = api.get("/api/hosts/local/containers/dw-m-missing/")
    assert r.status_code == 404 and "dw-m-missing" in r.json()["detail"]
    assert api_as("none", "no-role").get("/api/hosts/local/networks/").status_code == 403


def test_detail_by_name_id_and_prefix(stocked, api_as, engine):
    api = api_as("viewer")
    net = engine.networks.get("dw-m-f1")
    for ident in ("dw-m-f1", net.id, net.id[:12]):
        assert api.get(f"/api/hosts/local/networks/{ident}/").json()["id"] == net.id
    c = engine.containers.get("dw-m-frun")
    for ident in ("dw-m-frun", c.id, c.id[:12]):
        assert api.get(f"/api/hosts/local/containers/{ident}/").json()["id"] == c.id
