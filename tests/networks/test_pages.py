"""The network pages through Django's test client (the browser test covers the create form)."""
from html import unescape

import pytest
from docker.types import IPAMConfig, IPAMPool

from dockerweb.inventory.services import host_reconcile

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, make_user):
    client.force_login(make_user("operator"))
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_container_panel_connects_and_disconnects(operator_client, host, engine, run_busybox):
    engine.networks.create("dw-panel", ipam=IPAMConfig(pool_configs=[IPAMPool(subnet="10.49.0.0/24")]))
    c = run_busybox("dw-panel-c")
    host_reconcile(host=host)  # what the watcher does on the engine's events
    page = f"/containers/{c.id}/?host=local"
    r = operator_client.get(page)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="container-networks"' in html and 'id="container-connect"' in html
    assert ">dw-panel · 10.49.0.0/24</option>" in html  # joinable, with its subnet

    net_id = engine.networks.get("dw-panel").id
    r = operator_client.post("/networks/connect/?host=local", {
        "network": net_id, "container": c.id, "ipv4_address": "10.49.0.300", "next": page}, follow=True)
    assert "'10.49.0.300' is not a valid IPv4 address." in _messages(r)
    assert set(engine.api.inspect_container(c.id)["NetworkSettings"]["Networks"]) == {"bridge"}

    r = operator_client.post("/networks/connect/?host=local", {
        "network": net_id, "container": c.id, "ipv4_address": "10.49.0.30", "aliases": "api, web", "next": page},
        follow=True)
    assert r.redirect_chain[-1][0] == page
    eng = engine.api.inspect_container(c.id)["NetworkSettings"]["Networks"]["dw-panel"]
    assert eng["IPAddress"] == "10.49.0.30" and {"api", "web"} <= set(eng["Aliases"])
    html = r.content.decode()
    assert 'data-network="dw-panel"' in html and "10.49.0.30" in html

    r = operator_client.post(f"/networks/{net_id}/disconnect/?host=local", {"container": c.id, "next": page}, follow=True)
    assert r.redirect_chain[-1][0] == page
    assert "dw-panel" not in engine.api.inspect_container(c.id)["NetworkSettings"]["Networks"]
    assert 'data-network="dw-panel"' not in r.content.decode()


def test_viewer_sees_no_change_buttons(client, make_user, host):
    client.force_login(make_user("viewer"))
    r = client.get("/networks/?host=local")
    html = r.content.decode()
    assert r.status_code == 200 and "Remove selected" not in html and "New network" not in html
    r = client.get("/networks/bridge/?host=local")
    assert r.status_code == 200 and "docker network inspect bridge" in r.content.decode()
    assert 'id="network-connect"' not in r.content.decode()


def test_detail_page_of_unknown_network_is_404(operator_client, host):
    r = operator_client.get("/networks/dw-nosuch/?host=local")
    assert r.status_code == 404 and "no network 'dw-nosuch'" in unescape(r.content.decode())


def test_remove_several_from_the_list(operator_client, host, engine, run_busybox):
    a = engine.networks.create("dw-rm-a")
    b = engine.networks.create("dw-rm-b")
    engine.networks.create("dw-rm-used")
    run_busybox("dw-rm-user", network="dw-rm-used")
    used = engine.networks.get("dw-rm-used")
    r = operator_client.post("/networks/remove/?host=local", {"network": [a.id, b.id, used.id]}, follow=True)
    msgs = _messages(r)
    assert "Removed dw-rm-a, dw-rm-b." in msgs
    assert any("still used by dw-rm-user" in m for m in msgs)
    names = {n.name for n in engine.networks.list()}
    assert {"dw-rm-a", "dw-rm-b"}.isdisjoint(names) and "dw-rm-used" in names


def test_prune_page_previews_then_removes_exactly_that(operator_client, host, engine, run_busybox):
    engine.networks.create("dw-pr-unused")
    engine.networks.create("dw-pr-used")
    run_busybox("dw-pr-user", network="dw-pr-used")
    r = operator_client.get("/networks/prune/?host=local")
    html = r.content.decode()
    assert "<b>dw-pr-unused</b>" in html and "<b>dw-pr-used</b>" not in html and "<b>bridge</b>" not in html
    assert "dw-pr-unused" in {n.name for n in engine.networks.list()}  # the preview changed nothing
    late = engine.networks.create("dw-pr-late")  # appeared after the preview: must stay
    unused = engine.networks.get("dw-pr-unused")
    r = operator_client.post("/networks/prune/?host=local", {"network": [unused.id]}, follow=True)
    assert "Removed dw-pr-unused." in _messages(r)
    names = {n.name for n in engine.networks.list()}
    assert "dw-pr-unused" not in names and {"dw-pr-used", "dw-pr-late", "bridge", "host", "none"} <= names
    assert late.id


def test_create_page_refuses_bad_input_on_its_field(operator_client, host, engine):
    before = {n.id for n in engine.networks.list()}
    r = operator_client.post("/networks/new/?host=local", {"name": "dw-form", "driver": "bridge",
                                                           "subnet": "10.50.0.0/24", "ip_range": "10.50.0.0/16"})
    assert r.status_code == 400
    assert "larger than the subnet" in " ".join(r.context["form"].errors["ip_range"])
    r = operator_client.post("/networks/new/?host=local", {"name": "dw-form", "driver": "bridge",
                                                           "enable_ipv6": "on", "subnet6": "fd00:50::/64",
                                                           "gateway6": "fd00:51::1"})
    assert "outside the subnet fd00:50::/64" in " ".join(r.context["form"].errors["gateway6"])
    r = operator_client.post("/networks/new/?host=local", {"name": "dw-form", "driver": "bridge",
                                                           "extra_ipam": "subnet=10.50.0.0/24 colour=blue"})
    assert "unknown word 'colour=blue'" in " ".join(r.context["form"].errors["extra_ipam"])
    r = operator_client.post("/networks/new/?host=local", {"name": "dw-form", "driver": "macvlan"})
    assert "needs a parent interface" in " ".join(r.context["form"].errors["parent"])
    r = operator_client.post("/networks/new/?host=local", {"name": "dw-form", "driver": "bridge",
                                                           "bridge_name": "dwform0"})
    assert r.status_code == 403
    assert "admin role (network.host_interface)" in " ".join(r.context["form"].errors["bridge_name"])
    r = operator_client.post("/networks/new/?host=local", {"name": "dw-form", "driver": "bridge",
                                                           "ipam_driver": "nosuchipam"})
    assert "no IPAM driver 'nosuchipam'" in " ".join(r.context["form"].errors["ipam_driver"])
    assert {n.id for n in engine.networks.list()} == before
    r = operator_client.get("/networks/new/?host=local")
    drivers = [c[0] for c in r.context["form"].fields["driver"].choices]
    assert drivers[0] == "bridge" and "macvlan" in drivers and "host" not in drivers and "null" not in drivers
    assert "overlay" not in drivers  # not a swarm manager


def test_the_command_line_is_the_one_the_browser_shows():
    """static/js/networks.js builds the same line live; the browser test checks its output."""
    from dockerweb.networks.selectors import network_create_command

    line = network_create_command(
        name="dw-web", driver="bridge", internal=True, labels={"team": "ops"},
        options={"com.docker.network.bridge.enable_icc": "false", "com.docker.network.driver.mtu": "1400"},
        ipam_config=[{"subnet": "10.47.0.0/16", "gateway": "10.47.0.1", "ip_range": "", "aux_addresses": {}}])
    assert line == ("docker network create --subnet 10.47.0.0/16 --gateway 10.47.0.1 --internal "
                    "-o com.docker.network.bridge.enable_icc=false -o com.docker.network.driver.mtu=1400 "
                    "--label team=ops dw-web")
    assert network_create_command(name="my net", driver="macvlan", options={"parent": "eth0.10"},
                                  labels={"note": "a b"}) == \
        "docker network create --driver macvlan -o parent=eth0.10 --label 'note=a b' 'my net'"
