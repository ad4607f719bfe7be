"""The containers pages (Django test client; the browser test drives the same form in Chromium)."""
import pytest

from dockerweb.core.models import Activity

from .conftest import HTTPD, IMAGE

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, make_user, host):
    def sign(role):
        user = make_user(role, username=f"{role}-pages")
        client.force_login(user)
        return client
    return sign


def test_run_form_offers_local_images_networks_and_admin_fields_only_to_admins(signed_in, engine):
    engine.containers.run(IMAGE, "sleep 300", name="dw-peer", detach=True)
    from dockerweb.inventory.services import host_reconcile
    from dockerweb.inventory.selectors import host_get

    host_reconcile(host=host_get(name="local"))
    page = signed_in("operator").get("/containers/run/?host=local").content.decode()
    assert 'data-image="dockerweb-test/busybox:latest"' in page
    assert '<option value="container:dw-peer">' in page and 'id="docker-run-line"' in page
    assert 'name="privileged"' not in page
    page = signed_in("admin").get("/containers/run/?host=local").content.decode()
    assert 'name="privileged"' in page and 'name="cap_add"' in page


def test_run_through_the_form_then_detail_and_actions(signed_in, engine):
    client = signed_in("operator")
    r = client.post("/containers/run/?host=local", {
        "image": IMAGE, "name": "dw-formweb", "command": HTTPD, "network": "bridge",
        "ports": "127.0.0.1:18181:80", "volumes": "dw-formdata:/data\n/scratch",
        "mounts": "type=tmpfs,target=/cache,tmpfs-size=4m", "environment": "A=1\nB=two words",
        "labels": "team=ops", "restart_policy": "no"})
    assert r.status_code == 302 and r["Location"] == "/containers/dw-formweb/?host=local"
    c = engine.containers.get("dw-formweb")
    assert c.attrs["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18181"}]}
    assert "B=two words" in c.attrs["Config"]["Env"]
    assert {m["Destination"] for m in c.attrs["Mounts"]} == {"/data", "/scratch", "/cache"}
    page = client.get(r["Location"]).content.decode()
    assert "127.0.0.1" in page and "18181" in page and "dw-formdata" in page and "anonymous" in page
    assert "/cache" in page
    r = client.post("/containers/dw-formweb/stop/", {"host": "local"})
    assert r.status_code == 302 and engine.containers.get("dw-formweb").status == "exited"
    r = client.post("/containers/dw-formweb/remove/", {"host": "local", "volumes": "1"})
    assert r.status_code == 302 and not engine.containers.list(all=True, filters={"name": "dw-formweb"})
    assert "dw-formdata" in {v.name for v in engine.volumes.list()}


def test_form_errors_land_on_their_field_and_refusals_are_403(signed_in, engine):
    client = signed_in("operator")
    before = {c.id for c in engine.containers.list(all=True)}
    r = client.post("/containers/run/?host=local", {"image": IMAGE, "network": "bridge", "ports": "80:80:80:80",
                                                     "restart_policy": "no"})
    assert r.status_code == 400
    assert 'data-field="ports"' in r.content.decode() and "not a valid -p value" in r.content.decode()
    r = client.post("/containers/run/?host=local", {"image": IMAGE, "network": "bridge", "volumes": "/:/host",
                                                     "restart_policy": "no"})
    assert r.status_code == 403 and "Refused:" in r.content.decode()
    assert Activity.objects.filter(action="container.run", outcome="refused").count() == 1
    assert {c.id for c in engine.containers.list(all=True)} == before


def test_viewer_sees_pages_but_no_actions(signed_in, engine):
    engine.containers.run(IMAGE, "sleep 300", name="dw-seen", detach=True, environment={"SECRET": "s3"})
    from dockerweb.inventory.services import host_reconcile
    from dockerweb.inventory.selectors import host_get

    host_reconcile(host=host_get(name="local"))
    client = signed_in("viewer")
    page = client.get("/containers/?host=local").content.decode()
    assert "dw-seen" in page and "Run a container" not in page and "/containers/dw-seen/stop/" not in page
    detail = client.get("/containers/dw-seen/?host=local").content.decode()
    assert "Networks" in detail and "SECRET=s3" not in detail
    r = client.post("/containers/dw-seen/stop/", {"host": "local"})
    assert r.status_code == 302 and engine.containers.get("dw-seen").status == "running"
