"""Issue 17, item 7: the bind allow-list is kept in the database and edited by admins on the
Settings page (and the API); `DOCKERWEB_BIND_ALLOWLIST` is its first value; a folder joins it
only if it exists and is safe to bind; every change is in the activity log; operators are refused."""
from pathlib import Path

import pytest
from django.conf import settings as conf

from dockerweb.core import selectors
from dockerweb.core.models import Activity, BindRoot

pytestmark = pytest.mark.django_db

IMAGE = "dockerweb-test/busybox:latest"
API = "/api/settings/bind-roots/"


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("admin", "settings-admin"))
    return client


def _env_roots():
    return selectors.bind_roots_from_environment()


def test_the_environment_is_the_first_value_until_an_admin_changes_it(admin_client, tmp_path, settings):
    settings.BIND_ALLOWLIST = [str(tmp_path / "a"), str(tmp_path / "b") + "/", str(tmp_path / "a")]
    (tmp_path / "a").mkdir()
    assert selectors.bind_allowlist() == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert not selectors.bind_roots_saved() and not BindRoot.objects.exists()
    body = admin_client.get("/settings/").content.decode()
    assert str(tmp_path / "a") in body and "DOCKERWEB_BIND_ALLOWLIST" in body
    assert "missing: no such folder" in body  # b does not exist, and the page says so

    new = tmp_path / "new"
    new.mkdir()
    r = admin_client.post("/settings/", {"path": str(new)})
    assert r.status_code == 302 and r["Location"] == "/settings/"
    assert selectors.bind_roots_saved()
    assert sorted(selectors.bind_allowlist()) == sorted([str(tmp_path / "a"), str(tmp_path / "b"), str(new)])
    row = BindRoot.objects.get(path=str(new))
    assert row.added_by_name == "settings-admin" and row.origin == "settings" and row.created
    assert BindRoot.objects.get(path=str(tmp_path / "a")).origin == "environment"
    # From now on the variable is not read: the saved list is the list.
    settings.BIND_ALLOWLIST = ["/somewhere/else"]
    assert str(new) in selectors.bind_allowlist() and "/somewhere/else" not in selectors.bind_allowlist()
    act = Activity.objects.get(action="settings.bind_root_add")
    assert act.outcome == "ok" and act.target == str(new) and act.username == "settings-admin"


@pytest.mark.parametrize("given,words", [
    ("", "full path"),
    ("srv/binds", "not an absolute path"),
    ("/", "'/'"),
    ("/etc", "'/etc'"),
    ("/proc/self", "'/proc'"),
    ("/sys", "'/sys'"),
    ("/var", "contains"),
    ("/run/docker.sock", "docker.sock"),
    ("/nonexistent/folder-of-the-test", "no folder"),
])
def test_a_folder_that_is_missing_or_unsafe_is_refused_on_its_field(admin_client, given, words):
    before = selectors.bind_allowlist()
    r = admin_client.post("/settings/", {"path": given})
    assert r.status_code == 400, r.content[:300]
    errors = r.context["form"].errors["path"]
    assert any(words in e for e in errors), errors
    assert selectors.bind_allowlist() == before and not selectors.bind_roots_saved()


def test_dockerweb_own_data_and_the_engine_are_refused(admin_client, host):
    for path, words in ((conf.DATA_DIR, "dockerweb's data folder"), (host.info["docker_root_dir"], "is or contains")):
        r = admin_client.post("/settings/", {"path": str(path)})
        assert r.status_code == 400 and words in r.context["form"].errors["path"][0], r.context["form"].errors
    assert not selectors.bind_roots_saved()
    assert Activity.objects.filter(action="settings.bind_root_add", outcome="failed").count() == 2


def test_a_file_a_repeat_and_a_symlink_to_etc_are_refused(admin_client, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = admin_client.post("/settings/", {"path": str(f)})
    assert r.status_code == 400 and "not a folder" in r.context["form"].errors["path"][0]
    link = tmp_path / "etc-link"
    link.symlink_to("/etc")
    r = admin_client.post("/settings/", {"path": str(link)})
    assert r.status_code == 400 and "'/etc'" in r.context["form"].errors["path"][0]
    r = admin_client.post("/settings/", {"path": _env_roots()[0]})
    assert r.status_code == 409 and "already in the bind allow-list" in r.context["form"].errors["path"][0]


def test_admin_removes_a_folder_and_binds_under_it_are_refused_then(admin_client, api_as, host, engine):
    root = _env_roots()[0]
    Path(root, "rm-test").mkdir(parents=True, exist_ok=True)
    r = admin_client.post("/settings/bind-roots/remove/", {"path": root})
    assert r.status_code == 302
    assert root not in selectors.bind_allowlist() and selectors.bind_roots_saved()
    assert Activity.objects.get(action="settings.bind_root_remove").outcome == "ok"
    admin = api_as("admin", "binder")
    r = admin.post("/api/hosts/local/containers/", {"name": "dw-set-rm", "image": IMAGE, "command": "sleep 30",
                                                    "volumes": [f"{root}/rm-test:/d"]}, format="json")
    assert r.status_code == 403 and "outside the bind allow-list (none)" in r.json()["detail"], r.json()
    # Taking off what is not on the list: 404, and the page says so.
    r = admin_client.post("/settings/bind-roots/remove/", {"path": "/not/listed"})
    assert r.status_code == 404 and "is not in the bind allow-list" in r.content.decode()


def test_refusals_outside_the_list_point_to_the_settings_page(api_as, host, engine):
    r = api_as("admin").post("/api/hosts/local/containers/", {"name": "dw-set-out", "image": IMAGE,
                                                             "volumes": ["/usr/share:/s"]}, format="json")
    detail = r.json()["detail"]
    assert r.status_code == 403 and "Settings page (/settings/)" in detail and "DOCKERWEB_BIND_ALLOWLIST" not in detail


def test_operators_are_refused_and_their_attempts_logged(client, make_user, tmp_path):
    client.force_login(make_user("operator", "settings-op"))
    r = client.get("/settings/")
    assert r.status_code == 403 and "Only admins" in r.content.decode()
    assert 'href="/settings/"' not in client.get("/activity/").content.decode()  # no link in the navigation
    before = selectors.bind_allowlist()
    r = client.post("/settings/", {"path": str(tmp_path)})
    assert r.status_code == 403
    r = client.post("/settings/bind-roots/remove/", {"path": before[0]})
    assert r.status_code == 403
    assert selectors.bind_allowlist() == before and not selectors.bind_roots_saved()
    refused = Activity.objects.filter(username="settings-op", outcome="refused")
    assert sorted(refused.values_list("action", flat=True)) == ["settings.bind_root_add", "settings.bind_root_remove"]


def test_the_settings_link_is_shown_to_admins(admin_client):
    assert 'href="/settings/"' in admin_client.get("/activity/").content.decode()


def test_api_lists_adds_and_removes_for_admins_only(api_as, tmp_path):
    admin, operator = api_as("admin"), api_as("operator")
    r = admin.get(API)
    assert r.status_code == 200
    assert [x["path"] for x in r.json()] == _env_roots() and r.json()[0]["origin"] == "environment"
    assert r.json()[0]["created"] is None and r.json()[0]["exists"] is True

    for c in (operator,):
        assert c.get(API).status_code == 403
        assert c.post(API, {"path": str(tmp_path)}, format="json").status_code == 403
        assert c.delete(API + "?path=" + _env_roots()[0]).status_code == 403
    assert not selectors.bind_roots_saved()

    r = admin.post(API, {"path": str(tmp_path) + "/"}, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["path"] == str(tmp_path) and r.json()["origin"] == "settings" and r.json()["exists"]
    r = admin.post(API, {"path": str(tmp_path)}, format="json")
    assert r.status_code == 409 and r.json()["field"] == "path"
    r = admin.post(API, {"path": "/no/such/dir"}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "path" and "no folder" in r.json()["detail"]
    r = admin.post(API, {"path": str(tmp_path), "note": "x"}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "note"
    r = admin.delete(f"{API}?path={tmp_path}")
    assert r.status_code == 204
    assert str(tmp_path) not in selectors.bind_allowlist()
    r = admin.delete(API + "?path=/not/listed")
    assert r.status_code == 404 and r.json()["field"] == "path"
    r = admin.delete(API)
    assert r.status_code == 400 and r.json()["field"] == "path"
    outcomes = list(Activity.objects.filter(action__startswith="settings.").values_list("action", "outcome"))
    assert ("settings.bind_root_add", "ok") in outcomes and ("settings.bind_root_remove", "ok") in outcomes
    assert outcomes.count(("settings.bind_root_add", "refused")) == 1


def test_the_schema_documents_the_settings_api(api_as):
    schema = api_as("viewer").get("/api/schema/", {"format": "json"}).json()
    ops = schema["paths"][API]
    assert set(ops) >= {"get", "post", "delete"}
    assert {"201", "400", "403", "409"} <= set(ops["post"]["responses"])
    assert any(p["name"] == "path" and p["in"] == "query" for p in ops["delete"]["parameters"])
