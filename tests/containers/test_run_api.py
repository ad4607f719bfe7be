"""Running containers through the API against the real engine: every network mode, every -p
form, links, and the lifecycle actions."""
import ipaddress

import pytest

from dockerweb.core.models import Activity
from dockerweb.inventory.models import Container

from .conftest import HELLO, HTTPD, IMAGE, exec_out, netns_get_retry

pytestmark = pytest.mark.django_db


def test_run_on_default_bridge_is_mirrored_and_logged(run, engine):
    r = run(name="dw-bridge", command="sleep 300", labels={"team": "ops"}, environment={"GREETING": "hi there"})
    assert r.status_code == 201, r.json()
    body = r.json()
    c = engine.containers.get("dw-bridge")
    assert body["id"] == c.id and body["state"] == "running" and body["network_mode"] == "bridge"
    assert body["networks"]["bridge"]["ipv4_address"] == c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    assert c.attrs["Config"]["Labels"] == {"team": "ops"}
    assert exec_out(engine, "dw-bridge", ["sh", "-c", "echo $GREETING"])[1].strip() == "hi there"
    assert Container.objects.get(name="dw-bridge").labels == {"team": "ops"}
    row = Activity.objects.get(action="container.run")
    assert (row.outcome, row.target, row.detail["id"]) == ("ok", "dw-bridge", c.id)


def test_network_none_has_only_loopback(run, engine):
    assert run(name="dw-none", network="none", command="sleep 300").status_code == 201
    code, out = exec_out(engine, "dw-none", ["ip", "-o", "link"])
    names = sorted(line.split(":")[1].strip().split("@")[0] for line in out.splitlines())
    assert code == 0 and names == ["lo"]


def test_network_host_is_admin_only_and_shares_the_engine_namespace(run, engine):
    r = run("operator", name="dw-hostnet", network="host", command="sleep 300")
    assert r.status_code == 403 and "host" in r.json()["detail"]
    assert not engine.containers.list(all=True, filters={"name": "dw-hostnet"})
    r = run("admin", name="dw-hostnet", network="host", command="sleep 300")
    assert r.status_code == 201, r.json()
    assert r.json()["network_mode"] == "host"
    # The engine's namespace has the docker0 bridge; a container of its own would not.
    code, out = exec_out(engine, "dw-hostnet", ["ip", "-o", "link"])
    assert "docker0" in out


def test_container_mode_shares_the_other_containers_interfaces(run, engine):
    assert run(name="dw-netowner", command="sleep 300").status_code == 201
    r = run(name="dw-netguest", network="container:dw-netowner", command="sleep 300")
    assert r.status_code == 201, r.json()
    owner = engine.containers.get("dw-netowner")
    assert r.json()["network_mode"] == f"container:{owner.id}"
    _, owner_addr = exec_out(engine, "dw-netowner", ["ip", "-o", "addr"])
    _, guest_addr = exec_out(engine, "dw-netguest", ["ip", "-o", "addr"])
    ip = owner.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    assert ip and ip in guest_addr and owner_addr == guest_addr


def test_user_defined_network_with_fixed_ip_and_alias(run, engine):
    engine.networks.create("dw-fixed", driver="bridge", ipam={"Driver": "default", "Config": [{"Subnet": "172.31.7.0/24"}]})
    from dockerweb.inventory.services import host_reconcile
    from dockerweb.inventory.selectors import host_get

    host_reconcile(host=host_get(name="local"))
    r = run(name="dw-fixed-a", network="dw-fixed", ipv4_address="172.31.7.33", aliases=["db", "store"], command="sleep 300")
    assert r.status_code == 201, r.json()
    assert r.json()["networks"]["dw-fixed"]["ipv4_address"] == "172.31.7.33"
    assert run(name="dw-fixed-b", network="dw-fixed", command="sleep 300").status_code == 201
    code, out = exec_out(engine, "dw-fixed-b", ["nslookup", "db"])
    assert code == 0 and "172.31.7.33" in out
    # --ip outside the subnet, and on the default bridge: clear 400s, nothing created
    r = run(name="dw-fixed-c", network="dw-fixed", ipv4_address="10.9.9.9", command="sleep 300")
    assert r.status_code == 400 and r.json()["field"] == "ipv4_address" and "outside" in r.json()["detail"]
    r = run(name="dw-fixed-c", ipv4_address="172.17.0.99", command="sleep 300")
    assert r.status_code == 400 and r.json()["field"] == "ipv4_address"
    r = run(name="dw-fixed-c", network="dw-fixed", ipv4_address="172.31.7.33", command="sleep 300")
    assert r.status_code == 409 and "dw-fixed-a" in r.json()["detail"]
    assert not engine.containers.list(all=True, filters={"name": "dw-fixed-c"})


def test_ip_on_a_network_without_its_own_subnet_is_refused(run, engine):
    net = engine.networks.create("dw-nosubnet", driver="bridge")
    from dockerweb.inventory.services import host_reconcile
    from dockerweb.inventory.selectors import host_get

    host_reconcile(host=host_get(name="local"))
    # An address inside the pool the engine picked: only the engine knows it was not asked for.
    pool = net.attrs["IPAM"]["Config"][0]["Subnet"] if net.attrs["IPAM"]["Config"] else None
    net.reload()
    pool = pool or net.attrs["IPAM"]["Config"][0]["Subnet"]
    address = str(ipaddress.ip_network(pool)[50])  # any pool the engine picks (a /16, a /20, …)
    r = run(name="dw-nosub", network="dw-nosubnet", ipv4_address=address, command="sleep 300")
    assert r.status_code == 400 and r.json()["field"] == "ipv4_address"
    assert "cannot take a fixed address" in r.json()["detail"]
    assert not engine.containers.list(all=True, filters={"name": "dw-nosub"})


@pytest.mark.parametrize("spec,expect_port", [
    ("18081:80", 18081),
    ("127.0.0.1:18082:80", 18082),
    ("127.0.0.1::80", None),
])
def test_each_p_form_reaches_httpd(run, engine, spec, expect_port):
    r = run(name="dw-web", command=HTTPD, ports=[spec])
    assert r.status_code == 201, r.json()
    [port] = [p for p in r.json()["ports"] if p["host_port"]]
    assert port["container_port"] == 80 and port["protocol"] == "tcp" and port["host_ip"] == "127.0.0.1"
    if expect_port:
        assert port["host_port"] == expect_port
    assert netns_get_retry(port["host_port"]).strip() == HELLO


def test_publish_all_publishes_exposed_ports(run, engine):
    r = run(name="dw-web-all", command=HTTPD, expose=["80"], publish_all=True)
    assert r.status_code == 201, r.json()
    [port] = r.json()["ports"]
    assert port["container_port"] == 80 and port["host_port"]
    assert netns_get_retry(port["host_port"]).strip() == HELLO


def test_udp_port_is_published_as_udp(run, engine):
    r = run(name="dw-udp", command="sleep 300", ports=["127.0.0.1:18053:53/udp"])
    assert r.status_code == 201, r.json()
    bindings = engine.containers.get("dw-udp").attrs["NetworkSettings"]["Ports"]
    assert bindings["53/udp"] == [{"HostIp": "127.0.0.1", "HostPort": "18053"}]


def test_link_alias_resolves(run, engine):
    assert run(name="dw-linked", command="sleep 300").status_code == 201
    r = run(name="dw-linker", command="sleep 300", links=["dw-linked:c1"])
    assert r.status_code == 201, r.json()
    assert r.json()["links"] == ["dw-linked:c1"]
    ip = engine.containers.get("dw-linked").attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    code, out = exec_out(engine, "dw-linker", ["ping", "-c", "1", "-W", "2", "c1"])
    assert code == 0 and ip in out


@pytest.mark.parametrize("fields,field,status,words", [
    ({"image": "nosuch/image:1"}, "image", 400, "cannot pull"),
    ({"ports": ["80:80:80:80"]}, "ports", 400, "not a valid -p"),
    ({"ports": ["abc:80"]}, "ports", 400, "not a port number"),
    ({"ports": ["127.0.0.1:70000:80"]}, "ports", 400, "1-65535"),
    ({"ports": ["999.1.1.1:8000:80"]}, "ports", 400, "not an IP address"),
    ({"ports": ["8000:80/icmp"]}, "ports", 400, "protocol"),
    ({"network": "container:dw-ghost"}, "network", 400, "does not exist"),
    ({"network": "dw-ghost-net"}, "network", 400, "no network"),
    ({"volumes": ["data:relative/path"]}, "volumes", 400, "absolute"),
    ({"mounts": [{"type": "tmpfs", "target": "tmp"}]}, "mounts", 400, "absolute"),
    ({"volumes_from": ["dw-ghost"]}, "volumes_from", 400, "no such container"),
    ({"links": ["dw-ghost:db"]}, "links", 400, "no such container"),
    ({"host_config": {"Binds": ["/:/host"]}}, "host_config", 400, "Unknown field"),
    ({"auto_remove": True, "restart_policy": "always"}, "restart_policy", 400, "exclude"),
    ({"network": "none", "ports": ["8000:80"]}, "ports", 400, "cannot be published"),
])
def test_bad_input_is_a_clear_4xx_and_nothing_is_created(run, engine, fields, field, status, words):
    before = {c.id for c in engine.containers.list(all=True)}
    r = run(name="dw-bad", command="sleep 300", **fields)
    assert r.status_code == status, r.json()
    assert r.json()["field"] == field and words in r.json()["detail"], r.json()
    assert {c.id for c in engine.containers.list(all=True)} == before
    assert Activity.objects.filter(action="container.run", outcome="failed").count() == 1


def test_name_in_use_and_host_port_taken_are_conflicts(run, engine):
    assert run(name="dw-first", command=HTTPD, ports=["127.0.0.1:18090:80"]).status_code == 201
    r = run(name="dw-first", command="sleep 300")
    assert r.status_code == 409 and r.json()["field"] == "name"
    r = run(name="dw-second", command=HTTPD, ports=["127.0.0.1:18090:80"])
    assert r.status_code == 409 and r.json()["field"] == "ports" and "dw-first" in r.json()["detail"]
    assert not engine.containers.list(all=True, filters={"name": "dw-second"})


def test_port_taken_behind_our_back_is_a_conflict_and_leaves_nothing(run, engine):
    engine.containers.run(IMAGE, HTTPD, name="dw-sneaky", detach=True, ports={"80/tcp": ("127.0.0.1", 18091)})
    # The mirror does not know dw-sneaky yet: the engine's own refusal must come back as a 409.
    r = run(name="dw-late", command=HTTPD, ports=["127.0.0.1:18091:80"])
    assert r.status_code == 409 and r.json()["field"] == "ports", r.json()
    assert not engine.containers.list(all=True, filters={"name": "dw-late"})


def test_stop_start_restart_and_remove(run, engine):
    client = run.client()
    assert run(name="dw-life", command="sleep 300").status_code == 201
    r = client.post("/api/hosts/local/containers/dw-life/stop/", {"timeout": 1}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "exited"
    assert engine.containers.get("dw-life").status == "exited"
    r = client.post("/api/hosts/local/containers/dw-life/start/")
    assert r.status_code == 200 and r.json()["state"] == "running"
    started = engine.containers.get("dw-life").attrs["State"]["StartedAt"]
    r = client.post("/api/hosts/local/containers/dw-life/restart/", {"timeout": 1}, format="json")
    assert r.status_code == 200 and engine.containers.get("dw-life").attrs["State"]["StartedAt"] != started
    r = client.delete("/api/hosts/local/containers/dw-life/")
    assert r.status_code == 409 and "running" in r.json()["detail"]
    r = client.delete("/api/hosts/local/containers/dw-life/?force=true")
    assert r.status_code == 204
    assert not engine.containers.list(all=True, filters={"name": "dw-life"})
    assert not Container.objects.filter(name="dw-life").exists()
    actions = list(Activity.objects.filter(target="dw-life").order_by("at").values_list("action", "outcome"))
    assert actions == [("container.run", "ok"), ("container.stop", "ok"), ("container.start", "ok"),
                       ("container.restart", "ok"), ("container.remove", "failed"), ("container.remove", "ok")]


def test_viewer_cannot_run_or_stop(run, engine):
    r = run("viewer", name="dw-viewer", command="sleep 300")
    assert r.status_code == 403
    assert not engine.containers.list(all=True, filters={"name": "dw-viewer"})


def test_ipv6_address_restart_policy_and_tty(run, engine):
    engine.networks.create("dw-v6", driver="bridge", enable_ipv6=True, ipam={"Driver": "default", "Config": [
        {"Subnet": "172.31.8.0/24"}, {"Subnet": "fd00:d0c:e3b::/64"}]})
    from dockerweb.inventory.services import host_reconcile
    from dockerweb.inventory.selectors import host_get

    host_reconcile(host=host_get(name="local"))
    r = run(name="dw-v6c", network="dw-v6", ipv6_address="fd00:d0c:e3b::42", command="sh", tty=True,
            restart_policy="on-failure:3")
    assert r.status_code == 201, r.json()
    assert r.json()["networks"]["dw-v6"]["ipv6_address"] == "fd00:d0c:e3b::42"
    assert r.json()["restart_policy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    attrs = engine.containers.get("dw-v6c").attrs
    assert attrs["Config"]["Tty"] is True and attrs["State"]["Running"] is True
    _, out = exec_out(engine, "dw-v6c", ["ip", "-o", "-6", "addr"])
    assert "fd00:d0c:e3b::42" in out
    r = run(name="dw-v6d", network="dw-v6", ipv6_address="fd00:d0c:e3b::42", command="sleep 300",
            restart_policy="sometimes")
    assert r.status_code == 400 and r.json()["field"] == "restart_policy"


def test_local_images_are_listed_for_the_picker(api_as, host, engine):
    r = api_as("viewer").get("/api/hosts/local/images/")
    assert r.status_code == 200
    image = engine.images.get(IMAGE)
    assert {"id": image.id, "tags": [IMAGE]}.items() <= next(i for i in r.json() if i["id"] == image.id).items()
