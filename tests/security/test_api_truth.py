"""Doors 11 and 13 by hand: the inputs that were 500s (or 60 MB answers) are refused with a
sentence and the field, a host registration that cannot work changes nothing, and the OpenAPI
schema states every error answer, every null and every download's media type."""
from __future__ import annotations

import subprocess
import sys

import pytest

from dockerweb.inventory.models import Host
from tests.support.procs import free_port, wait_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query, status, field", [
    ({"cron": "0 3 * * *", "count": "AAA"}, 400, "count"),  # was a 500 (int("AAA"))
    ({"cron": "0 3 * * *", "count": "3000000"}, 400, "count"),  # was 60 MB for any viewer
    ({"cron": "0 3 * * *", "count": "0"}, 400, "count"),
    ({"cron": "* * * * *"}, 200, None),
    ({"cron": "* * * * *", "count": "100"}, 200, None),
    ({"cron": "not a cron"}, 400, "cron"),
    ({}, 400, "cron"),
])
def test_cron_preview_is_bounded(api_as, query, status, field):
    r = api_as("viewer").get("/api/schedules/preview/", query)
    assert r.status_code == status, r.content
    if field:
        assert r.json()["field"] == field and r.json()["code"] in ("invalid", "bad_request"), r.json()
    else:
        assert len(r.json()["next_runs"]) == int(query.get("count", 5))


@pytest.mark.parametrize("url, query, status, field", [
    ("/api/activity/", {"page": "AAA"}, 400, "page"),
    ("/api/activity/", {"page": "0"}, 400, "page"),
    ("/api/activity/", {"page": "99"}, 404, "page"),
    ("/api/activity/", {"page_size": "1000000"}, 400, "page_size"),
    ("/api/activity/", {"outcome": "maybe"}, 400, "outcome"),
    ("/api/backups/", {"status": "nope"}, 400, "status"),
    ("/api/restores/", {"backup": "AAA"}, 400, "backup"),  # was a 500 (ValueError in the ORM)
    ("/api/restores/", {"backup": "9" * 30}, 400, "backup"),  # past what the database holds
    ("/api/hosts/local/containers/", {"name": "x" * 300}, 400, "name"),
    ("/api/hosts/local/volumes/", {"dangling": "perhaps"}, 400, "dangling"),
    ("/api/hosts/local/audits/compare/", {"a": "x", "b": "1"}, 400, "a"),
])
def test_query_parameters_are_checked(host, api_as, url, query, status, field):
    r = api_as("viewer").get(url, query)
    assert r.status_code == status, r.content
    assert r.json()["field"] == field, r.json()


def test_container_and_volume_delete_flags_are_booleans(host, api_as):
    op = api_as("operator")
    for url in ("/api/hosts/local/containers/nosuch/?force=maybe", "/api/hosts/local/containers/nosuch/?volumes=2",
                "/api/hosts/local/volumes/nosuch/?force=yes please"):
        r = op.delete(url)
        assert r.status_code == 400 and r.json()["field"] in ("force", "volumes"), r.content


def test_numbers_past_what_the_database_holds_are_refused(host, api_as):
    admin = api_as("admin")
    r = admin.post("/api/schedules/", {"host": "local", "volume": "v1", "cron": "0 3 * * *",
                                       "keep_weekly": 10124124016248416607666176})  # found by the fuzzer: a 500
    assert r.status_code == 400 and r.json()["field"] == "keep_weekly", r.content


def test_ids_past_what_the_database_holds_are_not_found(api_as):
    r = api_as("viewer").get("/api/backups/" + "9" * 30 + "/")  # was an OverflowError in SQLite
    assert r.status_code == 404 and r.json()["code"] == "not_found", r.content


@pytest.fixture
def not_docker():
    """An HTTP server on loopback that is not a Docker engine."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import socket

    def up():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0
    wait_for(up, timeout=10, message="the HTTP server")
    yield f"tcp://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


@pytest.mark.parametrize("url, status", [
    ("tcp://127.0.0.1:{closed}", 503),  # nothing listens: unreachable
    ("unix:///nonexistent/docker.sock", 503),
    ("{not_docker}", 400),  # something answers, not the Docker API (was a 500)
    ("tcp://host:notaport", 400),  # was a 500 (ValueError from urlparse)
    ("tcp://127.0.0.1:99999", 400),  # was a 500
    ("tcp://[::1", 400),  # was a 500
    ("tcp://", 400),
    ("unix://relative.sock", 400),
    ("http://127.0.0.1:2375", 400),
    ("ssh://root@127.0.0.1", 400),
])
def test_host_registration_failures_are_400_or_503_and_change_nothing(host, api_as, not_docker, url, status):
    url = url.format(closed=free_port(), not_docker=not_docker)
    before = list(Host.objects.values_list("name", "url"))
    r = api_as("admin").post("/api/hosts/", {"name": "second", "url": url})
    assert r.status_code == status, r.content
    body = r.json()
    assert body["detail"] and body["code"] in ("bad_request", "unavailable"), body
    if status == 400:
        assert body["field"] == "url", body
    assert list(Host.objects.values_list("name", "url")) == before


def test_host_tls_material_must_be_pem(host, api_as):
    r = api_as("admin").post("/api/hosts/", {"name": "second", "url": "tcp://127.0.0.1:2376", "tls_ca": "garbage"})
    assert r.status_code == 400 and r.json()["field"] == "tls_ca", r.content
    assert not Host.objects.filter(name="second").exists()


# --- the schema -------------------------------------------------------------------------------

@pytest.fixture
def schema(api_as):
    r = api_as("viewer").get("/api/schema/", {"format": "json"})
    assert r.status_code == 200
    return r.json()


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, op


def test_every_operation_states_its_refusals_with_the_error_shape(schema):
    error_ref = "#/components/schemas/Error"
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"detail", "code"}
    for method, path, op in _operations(schema):
        name = f"{method} {path}"
        statuses = {int(s) for s in op["responses"]}
        errors = {s for s in statuses if 400 <= s < 500}
        assert errors, f"{name} states no 4xx"
        if path != "/api/auth/token/":
            assert {401, 403} <= statuses, f"{name}: anonymous and role-less requests are refused"
        if "{" in path:
            assert 404 in statuses, name
        if method != "GET":
            assert {400, 404, 409, 503} <= statuses, name
        if "requestBody" in op or any(p["in"] == "query" for p in op.get("parameters", [])):
            assert 400 in statuses, name
        for status in errors:
            content = op["responses"][str(status)]["content"]
            assert content["application/json"]["schema"]["$ref"] == error_ref, f"{name} {status}"


def test_nullable_fields_are_nullable(schema):
    components = schema["components"]["schemas"]
    for component, field in (("Backup", "schedule"), ("Restore", "backup"), ("Restore", "safety_backup"),
                             ("Backup", "started"), ("Backup", "finished"), ("Archive", "size"),
                             ("Schedule", "next_run"), ("Host", "last_seen"), ("Volume", "size"),
                             ("PortBinding", "host_port"), ("Container", "created")):
        assert components[component]["properties"][field].get("nullable") is True, (component, field)


def test_downloads_state_their_media_types(schema):
    op = schema["paths"]["/api/backups/{id}/download/"]["get"]
    assert set(op["responses"]["200"]["content"]) == {"application/zstd", "application/gzip", "application/x-tar"}


def test_error_bodies_have_the_stated_shape(host, api_as, client):
    viewer = api_as("viewer")
    for r in (viewer.get("/api/hosts/nosuch/"), viewer.get("/api/backups/123456/"),
              viewer.post("/api/hosts/local/networks/", {"name": "x"}),  # a viewer may not
              client.get("/api/hosts/"),  # anonymous
              viewer.get("/api/no/such/path/")):
        body = r.json()
        assert r.status_code in (401, 403, 404), r.content
        assert isinstance(body["detail"], str) and body["detail"] and isinstance(body["code"], str), body
    r = viewer.get("/api/activity/", {"page": "x"})
    assert r.json()["errors"] == {"page": [r.json()["detail"]]}
