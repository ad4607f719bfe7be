"""Hosts: engines registered by unix:// or tcp:// (TLS optional) through the admin API and the
hosts page; each is then followed by its own watcher loop."""
from __future__ import annotations

import pytest

from dockerweb.core.models import Activity
from dockerweb.inventory.models import Host
from tests.support.procs import wait_for

from .conftest import wait_watched
from .mirror import differences
from .tcpproxy import TcpProxy, make_certs

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sock_path(engine_url):
    return engine_url.removeprefix("unix://")


def test_admin_registers_a_tcp_engine_with_tls_and_the_watcher_follows_it(live_host, engine, api_as, sock_path, tmp_path):
    certs = make_certs(tmp_path)
    proxy = TcpProxy(sock_path, certs)
    try:
        admin = api_as("admin")
        body = {"name": "tls-host", "url": proxy.url, "tls_ca": certs["ca"].read_text(),
                "tls_cert": certs["client"].read_text(), "tls_key": certs["client-key"].read_text()}
        r = admin.post("/api/hosts/", body, format="json")
        assert r.status_code == 201, r.content
        assert r.json()["status"] == "ok" and r.json()["engine_version"]
        assert r.json()["watching_since"] is None  # until the watcher has picked it up
        assert "tls_key" not in r.json()  # secrets are never read back
        host = wait_watched(Host.objects.get(name="tls-host"))
        net = engine.networks.create("dw-m-over-tls", labels={"via": "tls"})
        wait_for(lambda: admin.get(f"/api/hosts/tls-host/networks/{net.id}/").status_code == 200, timeout=1,
                 message="a network to be mirrored through the TLS host")
        assert differences(admin, "tls-host", engine) == []
        assert Activity.objects.filter(action="host.create", target="tls-host", outcome="ok").exists()

        # Without the client certificate the engine (its TLS front) refuses: 503, nothing saved.
        r = admin.post("/api/hosts/", {**body, "name": "tls-nocert", "tls_cert": "", "tls_key": ""}, format="json")
        assert r.status_code == 503, r.content
        assert not Host.objects.filter(name="tls-nocert").exists()
        assert host.pk
    finally:
        proxy.close()


def test_plain_tcp_and_unix_urls_register_and_bad_ones_are_refused(live_host, engine, api_as, sock_path, engine_url):
    proxy = TcpProxy(sock_path)
    try:
        admin = api_as("admin")
        r = admin.post("/api/hosts/", {"name": "plain-tcp", "url": proxy.url}, format="json")
        assert r.status_code == 201, r.content
        r = admin.post("/api/hosts/", {"name": "again", "url": engine_url}, format="json")
        assert r.status_code == 201, r.content
        wait_watched(Host.objects.get(name="plain-tcp"))
        wait_watched(Host.objects.get(name="again"))
        names = [h["name"] for h in admin.get("/api/hosts/").json()]
        assert names == ["again", "local", "plain-tcp"]

        r = admin.post("/api/hosts/", {"name": "local", "url": engine_url}, format="json")
        assert r.status_code == 409 and r.json()["field"] == "name"
        r = admin.post("/api/hosts/", {"name": "web", "url": "http://127.0.0.1:2375"}, format="json")
        assert r.status_code == 400 and r.json()["field"] == "url"
        r = admin.post("/api/hosts/", {"name": "Bad Name", "url": engine_url}, format="json")
        assert r.status_code == 400 and r.json()["field"] == "name"
        r = admin.post("/api/hosts/", {"name": "nowhere", "url": "unix:///nonexistent/docker.sock"}, format="json")
        assert r.status_code == 503
        assert not Host.objects.filter(name__in=["web", "nowhere"]).exists()

        operator = api_as("operator")
        r = operator.post("/api/hosts/", {"name": "sneaky", "url": engine_url}, format="json")
        assert r.status_code == 403
        assert Activity.objects.filter(action="host.create", target="sneaky", outcome="refused").exists()

        # Removing a host stops its watcher loop and drops its mirror, not the engine's objects.
        r = admin.delete("/api/hosts/again/")
        assert r.status_code == 204
        assert not Host.objects.filter(name="again").exists()
        assert engine.networks.list(names=["bridge"])
    finally:
        proxy.close()


def test_hosts_page_lists_hosts_and_admins_register_through_the_form(live_host, engine, client, make_user, engine_url):
    admin = make_user("admin", "page-admin")
    client.force_login(admin)
    r = client.post("/hosts/", {"name": "from-page", "url": engine_url, "tls_verify": "on"})
    assert r.status_code == 302
    wait_watched(Host.objects.get(name="from-page"))
    page = client.get("/hosts/").content.decode()
    assert "from-page" in page and "local" in page and "status-ok" in page
    assert page.count(">live</span>") == 2 and "not followed" not in page
    r = client.post("/hosts/", {"name": "from-page", "url": engine_url})
    assert r.status_code == 409 and "already exists" in r.content.decode()

    viewer = make_user("viewer", "page-viewer")
    client.force_login(viewer)
    page = client.get("/hosts/").content.decode()
    assert "from-page" in page and "Register host" not in page
    r = client.post("/hosts/", {"name": "viewer-host", "url": engine_url})
    assert r.status_code == 403
    assert not Host.objects.filter(name="viewer-host").exists()
