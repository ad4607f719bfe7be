"""The volumes pages: list with users, create, a volume's page, remove, prune preview."""
import pytest

IMAGE = "dockerweb-test/busybox:latest"
pytestmark = pytest.mark.django_db


@pytest.fixture
def op(client, make_user, host):
    client.force_login(make_user("operator", username="op-pages"))
    return client


def test_create_detail_remove_through_pages(op, engine):
    r = op.post("/volumes/new/?host=local", {"name": "dw-pagevol", "driver": "local", "labels": "app=web",
                                              "driver_opts": ""})
    assert r.status_code == 302 and r["Location"] == "/volumes/dw-pagevol/?host=local"
    assert engine.volumes.get("dw-pagevol").attrs["Labels"] == {"app": "web"}
    page = op.get(r["Location"]).content.decode()
    assert "dw-pagevol" in page and "app=web" in page and "No container uses this volume" in page
    r = op.post("/volumes/new/?host=local", {"name": "dw-pagevol", "driver": "local"})
    assert r.status_code == 409 and "already exists" in r.content.decode()
    r = op.post("/volumes/new/?host=local", {"name": "dw-etcvol", "driver": "local",
                                              "driver_opts": "type=none\no=bind\ndevice=/etc"})
    assert r.status_code == 403 and "Refused:" in r.content.decode()
    engine.containers.create(IMAGE, "sleep 300", name="dw-pageuser", volumes=["dw-pagevol:/d"])
    from dockerweb.inventory.services import host_reconcile
    from dockerweb.inventory.selectors import host_get

    host_reconcile(host=host_get(name="local"))
    list_page = op.get("/volumes/?host=local").content.decode()
    assert "dw-pageuser" in list_page
    r = op.post("/volumes/dw-pagevol/remove/", {"host": "local"}, follow=True)
    assert "is in use by dw-pageuser" in r.content.decode()
    engine.containers.get("dw-pageuser").remove()
    r = op.post("/volumes/dw-pagevol/remove/", {"host": "local"})
    assert r.status_code == 302 and "dw-pagevol" not in {v.name for v in engine.volumes.list()}


def test_prune_page_previews_then_prunes(op, engine):
    engine.volumes.create("dw-prune-me")
    engine.containers.create(IMAGE, "sleep 300", name="dw-holder", volumes=["dw-hold-me:/d"])
    from dockerweb.inventory.services import host_reconcile
    from dockerweb.inventory.selectors import host_get

    host_reconcile(host=host_get(name="local"))
    page = op.get("/volumes/prune/?host=local").content.decode()
    assert "dw-prune-me" in page and "dw-hold-me" not in page
    assert "dw-prune-me" in {v.name for v in engine.volumes.list()}
    r = op.post("/volumes/prune/", {"host": "local"})
    assert r.status_code == 302
    names = {v.name for v in engine.volumes.list()}
    assert "dw-prune-me" not in names and "dw-hold-me" in names


def test_sizes_on_request(op, engine):
    engine.containers.run(IMAGE, ["sh", "-c", "dd if=/dev/zero of=/d/blob bs=1024 count=200 && sleep 300"],
                          name="dw-sizer", detach=True, volumes=["dw-sized-page:/d"])
    import time

    time.sleep(1)
    from dockerweb.inventory.services import host_reconcile
    from dockerweb.inventory.selectors import host_get

    host_reconcile(host=host_get(name="local"))
    page = op.get("/volumes/?host=local&sizes=1").content.decode()
    assert "200.0 KiB" in page
    detail = op.get("/volumes/dw-sized-page/?host=local").content.decode()
    assert "200.0 KiB" in detail and "dw-sizer" in detail
