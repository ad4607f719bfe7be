"""Bulk start/stop/remove of containers and bulk remove of volumes: on the list pages (a POST to
the list itself, answered by the same list with its filters) and in the API
(`POST …/containers/remove/`, `POST …/volumes/remove/`, shaped like `…/networks/remove/`).
Real engine; each container or volume is done (or refused) on its own and logged on its own."""
import pytest

from dockerweb.core.models import Activity
from dockerweb.inventory.selectors import host_get
from dockerweb.inventory.services import host_reconcile

from .conftest import IMAGE

pytestmark = pytest.mark.django_db


def _reconcile():
    host_reconcile(host=host_get(name="local"))


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def signed_in(client, make_user, host):
    def sign(role):
        client.force_login(make_user(role, username=f"{role}-bulk"))
        return client
    return sign


def test_bulk_stop_start_remove_keeps_the_filter_and_answers_per_container(signed_in, engine):
    for i in range(3):
        engine.containers.run(IMAGE, "sleep 300", name=f"dw-bk-{i}", detach=True, labels={"batch": "bk"})
    engine.containers.run(IMAGE, "sleep 300", name="dw-other", detach=True, labels={"batch": "other"})
    _reconcile()
    client = signed_in("operator")
    listed = "/containers/?host=local&label=batch%3Dbk&state="
    page = client.get(listed).content.decode()
    assert 'value="dw-bk-0"' in page and 'value="dw-other"' not in page and 'id="container-bulk"' in page

    r = client.post(listed, {"action": "stop", "container": ["dw-bk-0", "dw-bk-1"]})
    assert r.status_code == 302 and r["Location"] == listed  # back to the list as it was
    assert {engine.containers.get(f"dw-bk-{i}").status for i in (0, 1)} == {"exited"}
    assert engine.containers.get("dw-bk-2").status == "running"
    r = client.get(r["Location"])
    assert _messages(r) == ["Stop: 2 of 2 done.", "dw-bk-0: stopped.", "dw-bk-1: stopped."]

    r = client.post(listed, {"action": "start", "container": ["dw-bk-0"]}, follow=True)
    assert "dw-bk-0: started." in _messages(r) and engine.containers.get("dw-bk-0").status == "running"

    # Without -f the running ones are refused, one by one; the stopped one goes; nothing else fails.
    assert engine.containers.get("dw-bk-1").status == "exited"
    r = client.post(listed, {"action": "remove", "container": ["dw-bk-0", "dw-bk-1", "dw-gone"]}, follow=True)
    msgs = _messages(r)
    assert msgs[0] == "Remove: 1 of 3 done, 2 refused.", msgs
    assert "dw-bk-1: removed." in msgs
    assert any(m.startswith("dw-bk-0: ") and "is running" in m for m in msgs), msgs
    assert any(m.startswith("dw-gone: ") for m in msgs), msgs
    assert r.redirect_chain[-1][0] == listed
    names = {c.name for c in engine.containers.list(all=True)}
    assert "dw-bk-1" not in names and {"dw-bk-0", "dw-bk-2", "dw-other"} <= names

    r = client.post(listed, {"action": "remove", "force": "1", "container": ["dw-bk-0", "dw-bk-2"]}, follow=True)
    assert _messages(r)[0] == "Remove: 2 of 2 done."
    assert {c.name for c in engine.containers.list(all=True)} & {"dw-bk-0", "dw-bk-2"} == set()
    assert "dw-other" in {c.name for c in engine.containers.list(all=True)}
    removed = Activity.objects.filter(action="container.remove").order_by("at")
    assert [(a.target, a.outcome) for a in removed if a.target.startswith("dw-bk")] == [
        ("dw-bk-0", "failed"), ("dw-bk-1", "ok"), ("dw-bk-0", "ok"), ("dw-bk-2", "ok")]


def test_bulk_refusals_are_per_container_and_change_nothing(signed_in, engine):
    engine.containers.run(IMAGE, "sleep 300", name="dw-bk-view", detach=True)
    _reconcile()
    client = signed_in("viewer")
    page = client.get("/containers/?host=local").content.decode()
    assert 'id="container-bulk"' not in page  # a viewer is offered no bulk bar
    r = client.post("/containers/?host=local&name=dw-bk", {"action": "remove", "force": "1",
                                                           "container": ["dw-bk-view"]}, follow=True)
    msgs = _messages(r)
    assert msgs[0] == "Remove: 0 of 1 done, 1 refused." and msgs[1].startswith("dw-bk-view: "), msgs
    assert engine.containers.get("dw-bk-view").status == "running"
    client = signed_in("operator")
    r = client.post("/containers/?host=local", {"action": "remove"}, follow=True)
    assert _messages(r) == ["Tick the containers to remove first."]
    r = client.post("/containers/?host=local", {"action": "explode", "container": ["dw-bk-view"]}, follow=True)
    assert _messages(r) == ["Choose start, stop or remove for the ticked containers."]
    assert engine.containers.get("dw-bk-view").status == "running"


def test_single_remove_from_the_list_keeps_the_filter(signed_in, engine):
    engine.containers.create(IMAGE, "true", name="dw-bk-one")
    _reconcile()
    client = signed_in("operator")
    listed = "/containers/?host=local&name=dw-bk"
    assert 'name="next" value="/containers/?host=local&amp;name=dw-bk"' in client.get(listed).content.decode()
    r = client.post("/containers/dw-bk-one/remove/", {"host": "local", "next": listed})
    assert r.status_code == 302 and r["Location"] == listed
    # A foreign `next` is not followed.
    engine.containers.create(IMAGE, "true", name="dw-bk-two")
    _reconcile()
    r = client.post("/containers/dw-bk-two/remove/", {"host": "local", "next": "//evil.example/"})
    assert r["Location"] == "/containers/?host=local"


def test_api_bulk_remove_and_a_container_named_remove(api_as, host, engine):
    api = api_as("operator", username="op-bulk-api")
    engine.containers.run(IMAGE, "sleep 300", name="dw-api-a", detach=True)
    engine.containers.create(IMAGE, "true", name="dw-api-b")
    engine.containers.create(IMAGE, "true", name="remove")
    _reconcile()  # no watcher here: the mirror learns of them now
    r = api.post("/api/hosts/local/containers/remove/", {"containers": ["dw-api-a", "dw-api-b", "nope-x"]},
                 format="json")
    assert r.status_code == 200
    assert r.json()["removed"] == ["dw-api-b"] and set(r.json()["errors"]) == {"dw-api-a", "nope-x"}
    assert "is running" in r.json()["errors"]["dw-api-a"]
    r = api.post("/api/hosts/local/containers/remove/", {"containers": ["dw-api-a"], "force": True}, format="json")
    assert r.json() == {"removed": ["dw-api-a"], "errors": {}}
    r = api.post("/api/hosts/local/containers/remove/", {"containers": []}, format="json")
    assert r.status_code == 400 and "containers" in r.json().get("field", "") + str(r.json())
    # The container named "remove" is still read and removed at its own address.
    r = api.get("/api/hosts/local/containers/remove/")
    assert r.status_code == 200 and r.json()["name"] == "remove"
    r = api.delete("/api/hosts/local/containers/remove/")
    assert r.status_code == 204 and "remove" not in {c.name for c in engine.containers.list(all=True)}


def test_volumes_bulk_remove_on_the_page_and_in_the_api(signed_in, api_as, engine):
    for name in ("dw-bv-1", "dw-bv-2", "dw-bv-used", "dw-bv-keep", "remove"):
        engine.volumes.create(name)
    engine.containers.create(IMAGE, "true", name="dw-bv-user", volumes=["dw-bv-used:/d"])
    _reconcile()
    client = signed_in("operator")
    listed = "/volumes/?host=local&name=dw-bv"
    page = client.get(listed).content.decode()
    assert 'id="volume-bulk"' in page and 'data-state="used"' in page
    r = client.post(listed, {"action": "remove", "volume": ["dw-bv-1", "dw-bv-used"]}, follow=True)
    assert r.redirect_chain[-1][0] == listed
    msgs = _messages(r)
    assert msgs[0] == "Remove: 1 of 2 done, 1 refused." and "dw-bv-1: removed." in msgs
    assert any(m.startswith("dw-bv-used: ") and "in use by dw-bv-user" in m for m in msgs), msgs
    names = {v.name for v in engine.volumes.list()}
    assert "dw-bv-1" not in names and {"dw-bv-used", "dw-bv-2", "dw-bv-keep"} <= names
    assert Activity.objects.filter(action="volume.remove", target="dw-bv-used", outcome="failed").exists()

    api = api_as("operator", username="op-bulk-vol")
    r = api.post("/api/hosts/local/volumes/remove/", {"volumes": ["dw-bv-2", "dw-bv-used", ""]}, format="json")
    assert r.status_code == 200 and r.json()["removed"] == ["dw-bv-2"]
    assert set(r.json()["errors"]) == {"dw-bv-used", ""}
    assert api.get("/api/hosts/local/volumes/remove/").json()["name"] == "remove"
    assert api.delete("/api/hosts/local/volumes/remove/").status_code == 204
    assert {v.name for v in engine.volumes.list()} & {"dw-bv-2", "remove"} == set()
