"""Volumes through the API against the real engine: create, list with users and sizes, inspect,
remove (in use → 409 naming the containers; force for admins only), prune with a preview."""
import pytest

from dockerweb.core.models import Activity
from dockerweb.inventory.models import Volume

IMAGE = "dockerweb-test/busybox:latest"
pytestmark = pytest.mark.django_db


def test_create_inspect_and_list(api_as, host, engine):
    client = api_as("operator")
    r = client.post("/api/hosts/local/volumes/", {"name": "dw-my-vol", "labels": {"app": "db"},
                                                   "driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}},
                    format="json")
    assert r.status_code == 201, r.json()
    raw = engine.volumes.get("dw-my-vol").attrs
    assert r.json()["name"] == "dw-my-vol" and r.json()["mountpoint"] == raw["Mountpoint"]
    assert raw["Labels"] == {"app": "db"} and raw["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    r = client.get("/api/hosts/local/volumes/dw-my-vol/")
    assert r.status_code == 200 and r.json()["options"]["type"] == "tmpfs" and r.json()["used_by"] == []
    names = [v["name"] for v in client.get("/api/hosts/local/volumes/?name=dw-my").json()]
    assert names == ["dw-my-vol"]
    # Same name again: the engine would silently reuse it; we say so.
    r = client.post("/api/hosts/local/volumes/", {"name": "dw-my-vol"}, format="json")
    assert r.status_code == 409 and r.json()["field"] == "name"
    r = client.post("/api/hosts/local/volumes/", {"name": "dw-x", "size": "1g"}, format="json")
    assert r.status_code == 400 and "size" in r.json()["errors"]


def test_list_shows_users_anonymous_volumes_and_sizes(api_as, host, engine):
    from dockerweb.inventory.services import host_reconcile

    engine.volumes.create("dw-sized")
    engine.containers.create(IMAGE, "sleep 300", name="dw-user", volumes=["dw-sized:/data:ro", "/anon"])
    engine.containers.get("dw-user").start()
    engine.containers.get("dw-user").exec_run(["dd", "if=/dev/zero", "of=/anon/blob", "bs=1024", "count=64"])
    host_reconcile(host=host)
    client = api_as("viewer")
    rows = {v["name"]: v for v in client.get("/api/hosts/local/volumes/?sizes=1").json()}
    assert rows["dw-sized"]["used_by"] == [{"container": engine.containers.get("dw-user").id, "name": "dw-user",
                                            "destination": "/data", "read_only": True}]
    assert rows["dw-sized"]["anonymous"] is False
    anon = next(m["Name"] for m in engine.containers.get("dw-user").attrs["Mounts"] if m["Destination"] == "/anon")
    assert rows[anon]["anonymous"] is True
    assert rows[anon]["size"] >= 64 * 1024 and rows["dw-sized"]["size"] == 0


def test_remove_in_use_names_the_containers_and_force_is_admin_only(api_as, host, engine):
    from dockerweb.inventory.services import host_reconcile

    engine.volumes.create("dw-busy")
    engine.containers.create(IMAGE, "sleep 300", name="dw-busy-user", volumes=["dw-busy:/data"])
    host_reconcile(host=host)
    operator, admin = api_as("operator"), api_as("admin")
    r = operator.delete("/api/hosts/local/volumes/dw-busy/")
    assert r.status_code == 409 and "dw-busy-user" in r.json()["detail"] and r.json()["used_by"] == ["dw-busy-user"]
    r = operator.delete("/api/hosts/local/volumes/dw-busy/?force=true")
    assert r.status_code == 403 and "volume.force_remove" in r.json()["detail"]
    assert engine.volumes.get("dw-busy")
    engine.containers.get("dw-busy-user").remove()
    r = admin.delete("/api/hosts/local/volumes/dw-busy/?force=true")
    assert r.status_code == 204
    assert "dw-busy" not in {v.name for v in engine.volumes.list()}
    assert not Volume.objects.filter(name="dw-busy").exists()
    outcomes = list(Activity.objects.filter(target="dw-busy").order_by("at").values_list("username", "action", "outcome"))
    assert outcomes == [(operator.user.username, "volume.remove", "failed"),
                        (operator.user.username, "volume.force_remove", "refused"),
                        (admin.user.username, "volume.remove", "ok")]
    assert operator.delete("/api/hosts/local/volumes/dw-busy/").status_code == 404


def test_prune_previews_then_removes_only_unused_volumes(api_as, host, engine):
    from dockerweb.inventory.services import host_reconcile

    engine.volumes.create("dw-unused-1")
    engine.volumes.create("dw-unused-2")
    engine.volumes.create("dw-kept")
    engine.containers.create(IMAGE, "sleep 300", name="dw-keeper", volumes=["dw-kept:/data"])
    host_reconcile(host=host)
    client = api_as("operator")
    r = client.post("/api/hosts/local/volumes/prune/", {"dry_run": True}, format="json")
    assert r.status_code == 200
    preview = r.json()["removed"]
    assert {"dw-unused-1", "dw-unused-2"} <= set(preview) and "dw-kept" not in preview
    assert {"dw-unused-1", "dw-unused-2"} <= {v.name for v in engine.volumes.list()}
    assert not Activity.objects.filter(action="volume.prune").exists()
    r = client.post("/api/hosts/local/volumes/prune/", {}, format="json")
    assert r.status_code == 200 and sorted(r.json()["removed"]) == sorted(preview)
    names = {v.name for v in engine.volumes.list()}
    assert "dw-kept" in names and not ({"dw-unused-1", "dw-unused-2"} & names)
    assert set(Volume.objects.values_list("name", flat=True)) == names
    row = Activity.objects.get(action="volume.prune")
    assert row.outcome == "ok" and sorted(row.detail["removed"]) == sorted(preview)
    assert api_as("viewer", "v2").post("/api/hosts/local/volumes/prune/", {}, format="json").status_code == 403


def test_operator_cannot_create_a_bind_backed_volume(api_as, host, engine, settings):
    client = api_as("operator")
    before = {v.name for v in engine.volumes.list()}
    r = client.post("/api/hosts/local/volumes/", {"name": "dw-etc", "driver_opts": {"type": "none", "o": "bind",
                                                                                    "device": "/etc"}}, format="json")
    assert r.status_code == 403 and "device" in r.json()["detail"]
    r = api_as("admin").post("/api/hosts/local/volumes/", {"name": "dw-etc", "driver_opts": {
        "type": "none", "o": "bind", "device": "/etc"}}, format="json")
    assert r.status_code == 403 and "/etc" in r.json()["detail"]
    assert {v.name for v in engine.volumes.list()} == before
    row = Activity.objects.filter(action="volume.create").order_by("at").first()
    assert row.outcome == "refused"
