"""Roles decide what a user may change; every refused or done change is in the activity log."""
import pytest

from dockerweb.core.models import Activity
from dockerweb.core.permissions import Role, may, required_role

pytestmark = pytest.mark.django_db


def test_unlisted_actions_need_admin():
    assert required_role("network.create") == Role.OPERATOR
    assert required_role("something.new") == Role.ADMIN
    assert required_role("network.read") == Role.VIEWER


def test_roles_are_ordered(make_user):
    viewer, operator, admin = make_user("viewer"), make_user("operator"), make_user("admin")
    assert not may(viewer, "network.create") and may(operator, "network.create") and may(admin, "network.create")
    assert not may(operator, "host.create") and may(admin, "host.create")
    assert not may(operator, "container.bind_mount") and may(admin, "container.bind_mount")
    assert all(may(u, "read") for u in (viewer, operator, admin))


def _engine_networks(engine):
    return sorted(n.name for n in engine.networks.list())


def test_viewer_cannot_change_anything_and_is_logged(api_as, host, engine):
    client = api_as("viewer")
    before = _engine_networks(engine)
    r = client.post("/api/hosts/local/networks/", {"name": "dw-viewer-net"}, format="json")
    assert r.status_code == 403
    assert r.json()["detail"] == "You need the operator role to do this (network.create)."
    assert _engine_networks(engine) == before
    r = client.delete("/api/hosts/local/networks/bridge/")
    assert r.status_code == 403
    row = Activity.objects.filter(username=client.user.username).order_by("at").first()
    assert (row.action, row.outcome, row.host, row.target) == ("network.create", "refused", "local", "dw-viewer-net")
    assert Activity.objects.filter(username=client.user.username, outcome="refused").count() == 2


def test_operator_can_create_and_remove_a_network_and_it_is_logged(api_as, host, engine):
    client = api_as("operator")
    r = client.post("/api/hosts/local/networks/", {"name": "dw-op-net", "labels": {"team": "ops"}}, format="json")
    assert r.status_code == 201, r.json()
    net = engine.networks.get("dw-op-net")
    assert r.json()["id"] == net.id and net.attrs["Labels"] == {"team": "ops"}
    r = client.delete(f"/api/hosts/local/networks/{net.id}/")
    assert r.status_code == 204
    assert "dw-op-net" not in _engine_networks(engine)
    rows = list(Activity.objects.filter(username=client.user.username).order_by("at").values_list("action", "outcome", "target"))
    assert rows == [("network.create", "ok", "dw-op-net"), ("network.remove", "ok", "dw-op-net")]


def test_failed_change_is_logged_as_failed(api_as, host, engine):
    client = api_as("operator")
    r = client.post("/api/hosts/local/networks/", {"name": "bridge"}, format="json")
    assert r.status_code == 409
    row = Activity.objects.get(username=client.user.username)
    assert row.outcome == "failed" and "predefined" in row.detail["message"]


def test_operator_cannot_register_hosts(api_as, host):
    client = api_as("operator")
    r = client.post("/api/hosts/", {"name": "other", "url": "unix:///nonexistent.sock"}, format="json")
    assert r.status_code == 403
    assert Activity.objects.filter(action="host.create", outcome="refused").exists()


def test_admin_registering_an_unreachable_engine_gets_503(api_as, host):
    client = api_as("admin")
    r = client.post("/api/hosts/", {"name": "gone", "url": "unix:///nonexistent/docker.sock"}, format="json")
    assert r.status_code == 503
    assert "cannot be reached" in r.json()["detail"]
    r = client.post("/api/hosts/", {"name": "bad", "url": "http://x"}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "url"


def test_activity_api_lists_and_filters(api_as, host):
    op = api_as("operator", "op1")
    op.post("/api/hosts/local/networks/", {"name": "host"}, format="json")
    viewer = api_as("viewer", "v1")
    r = viewer.get("/api/activity/?user=op1")
    assert r.status_code == 200
    (row,) = r.json()
    assert set(row) == {"at", "user", "action", "host", "target", "outcome", "detail"}
    assert (row["user"], row["action"], row["outcome"]) == ("op1", "network.create", "failed")
    assert viewer.get("/api/activity/?outcome=ok&user=op1").json() == []
