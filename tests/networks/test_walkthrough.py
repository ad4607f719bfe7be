"""The walkthrough's network part (section 四), replayed through the API against the real
engine, with the engine's state checked after each step and real `ping` inside containers."""
import pytest

from dockerweb.core.models import Activity

from .conftest import IMAGE

pytestmark = pytest.mark.django_db

BASE = "/api/hosts/local/networks/"


def sh(container, cmd: str) -> tuple[int, str]:
    code, out = container.exec_run(["sh", "-c", cmd])
    return code, out.decode(errors="replace")


def attached(engine, name: str) -> dict:
    return engine.api.inspect_container(name)["NetworkSettings"]["Networks"]


def test_walkthrough_user_defined_bridge(api_as, host, engine):
    client = api_as("operator")

    def run(**body):  # docker run -itd … through the containers API
        r = client.post("/api/hosts/local/containers/", {"image": IMAGE, "command": "sleep 600", **body}, format="json")
        assert r.status_code == 201, r.json()
        return engine.containers.get(r.json()["id"])

    # 1. two containers on the default bridge
    c1, c2 = run(name="continer1"), run(name="continer2")

    # 2. docker network create -d bridge --subnet 10.45.0.0/16 --gateway 10.45.0.1 isolated_nw
    r = client.post(BASE, {"name": "isolated_nw", "driver": "bridge",
                           "ipam": {"config": [{"subnet": "10.45.0.0/16", "gateway": "10.45.0.1"}]}}, format="json")
    assert r.status_code == 201, r.json()
    net_id = r.json()["id"]
    net = engine.api.inspect_network(net_id)
    assert net["Name"] == "isolated_nw" and net["Driver"] == "bridge"
    assert net["IPAM"]["Config"] == [{"Subnet": "10.45.0.0/16", "Gateway": "10.45.0.1"}]
    assert r.json()["ipam"]["config"][0]["subnet"] == "10.45.0.0/16"

    # 3. docker network connect isolated_nw continer2 ; docker network inspect isolated_nw
    r = client.post(f"{BASE}isolated_nw/connect/", {"container": "continer2"}, format="json")
    assert r.status_code == 200, r.json()
    eng = attached(engine, "continer2")
    assert set(eng) == {"bridge", "isolated_nw"}
    ip2 = eng["isolated_nw"]["IPAddress"]
    assert ip2.startswith("10.45.") and r.json()["networks"]["isolated_nw"]["ipv4_address"] == ip2
    r = client.get(f"{BASE}isolated_nw/")
    assert [(c["name"], c["ipv4_address"]) for c in r.json()["containers"]] == [("continer2", ip2)]

    # 4. docker run -itd --name continer3 --network isolated_nw --ip 10.45.3.3
    c3 = run(name="continer3", network="isolated_nw", ipv4_address="10.45.3.3")
    assert attached(engine, "continer3")["isolated_nw"]["IPAddress"] == "10.45.3.3"
    r = client.get(f"{BASE}{net_id}/")
    assert sorted((c["name"], c["ipv4_address"]) for c in r.json()["containers"]) == [
        ("continer2", ip2), ("continer3", "10.45.3.3")]

    # 5. continer2 resolves and pings continer3 by name on the user-defined network
    code, out = sh(c2, "ping -c 2 -W 2 continer3")
    assert code == 0, out
    assert "10.45.3.3" in out and " 0% packet loss" in out

    # 6. the default bridge does not resolve names (but the address answers)
    code, out = sh(c2, "ping -c 1 -W 1 continer1")
    assert code != 0 and "bad address" in out.lower(), out
    ip1 = attached(engine, "continer1")["bridge"]["IPAddress"]
    code, out = sh(c2, f"ping -c 1 -W 2 {ip1}")
    assert code == 0, out

    # 7. … unless with a legacy --link alias: docker run --link continer1:c1
    c4 = run(name="container4", links=["continer1:c1"])
    code, out = sh(c4, "ping -c 1 -W 2 c1")
    assert code == 0 and ip1 in out, out
    code, out = sh(c4, "ping -c 1 -W 2 continer1")
    assert code == 0 and ip1 in out, out

    # 7b. on a user-defined network, connect with a fixed address, an alias and a link through the API
    r = client.post(f"{BASE}isolated_nw/connect/", {"container": "container4", "ipv4_address": "10.45.4.4",
                                                    "aliases": ["web"], "links": ["continer3:db"]}, format="json")
    assert r.status_code == 200, r.json()
    eng = attached(engine, "container4")["isolated_nw"]
    assert eng["IPAddress"] == "10.45.4.4" and "web" in eng["Aliases"] and eng["Links"] == ["continer3:db"]
    code, out = sh(c2, "ping -c 1 -W 2 web")
    assert code == 0 and "10.45.4.4" in out, out
    code, out = sh(c4, "ping -c 1 -W 2 db")
    assert code == 0 and "10.45.3.3" in out, out

    # 8. docker network disconnect isolated_nw continer2 / continer3 / container4 (forced)
    for name, force in (("continer2", False), ("continer3", False), ("container4", True)):
        r = client.post(f"{BASE}isolated_nw/disconnect/", {"container": name, "force": force}, format="json")
        assert r.status_code == 200, r.json()
        assert "isolated_nw" not in attached(engine, name)
        assert "isolated_nw" not in r.json()["networks"]
    assert engine.api.inspect_network(net_id)["Containers"] == {}
    code, out = sh(c2, "ping -c 1 -W 1 10.45.3.3")
    assert code != 0

    # 9. docker network rm isolated_nw
    r = client.delete(f"{BASE}isolated_nw/")
    assert r.status_code == 204
    assert "isolated_nw" not in {n.name for n in engine.networks.list()}
    assert client.get(f"{BASE}isolated_nw/").status_code == 404

    actions = list(Activity.objects.filter(username=client.user.username, action__startswith="network.")
                   .order_by("at").values_list("action", "outcome"))
    assert actions == [("network.create", "ok"), ("network.connect", "ok"), ("network.connect", "ok"),
                       ("network.disconnect", "ok"), ("network.disconnect", "ok"), ("network.disconnect", "ok"),
                       ("network.remove", "ok")]
    assert c1.id and c3.id


def test_create_with_every_option_and_ipv6(api_as, host, engine):
    client = api_as("admin")  # the bridge name names a host interface: network.host_interface is admin-only
    body = {
        "name": "dw-full", "driver": "bridge", "internal": True, "attachable": True, "enable_ipv6": True,
        "labels": {"team": "ops", "env": "test"},
        "options": {"com.docker.network.bridge.name": "dwfull0", "com.docker.network.bridge.enable_icc": "false",
                    "com.docker.network.bridge.enable_ip_masquerade": "false",
                    "com.docker.network.bridge.host_binding_ipv4": "127.0.0.1", "com.docker.network.driver.mtu": "1400",
                    "com.docker.network.container_interface_prefix": "dw"},
        "ipam": {"config": [
            {"subnet": "10.46.0.0/16", "gateway": "10.46.5.254", "ip_range": "10.46.5.0/24",
             "aux_addresses": {"router": "10.46.0.2"}},
            {"subnet": "fd00:46::/64", "gateway": "fd00:46::1"},
        ]},
    }
    r = client.post(BASE, body, format="json")
    assert r.status_code == 201, r.json()
    a = engine.api.inspect_network(r.json()["id"])
    assert (a["Internal"], a["Attachable"], a["EnableIPv6"]) == (True, True, True)
    assert a["Labels"] == body["labels"] and a["Options"] == body["options"]
    assert a["IPAM"]["Config"][0] == {"Subnet": "10.46.0.0/16", "IPRange": "10.46.5.0/24", "Gateway": "10.46.5.254",
                                      "AuxiliaryAddresses": {"router": "10.46.0.2"}}
    assert a["IPAM"]["Config"][1]["Subnet"] == "fd00:46::/64"
    # the API answers with what the engine reports (mirror refreshed from it)
    got = r.json()
    assert got["options"] == body["options"] and got["internal"] and got["enable_ipv6"]
    assert got["ipam"]["config"][0]["aux_addresses"] == {"router": "10.46.0.2"}
    # a fixed IPv6 address on it, and a taken IPv6 address refused
    from tests.networks.conftest import IMAGE as image
    engine.containers.run(image, ["sleep", "600"], name="dw-v6", detach=True)
    r = client.post(f"{BASE}dw-full/connect/", {"container": "dw-v6", "ipv6_address": "fd00:46::10"}, format="json")
    assert r.status_code == 200, r.json()
    assert attached(engine, "dw-v6")["dw-full"]["GlobalIPv6Address"] == "fd00:46::10"
    engine.containers.run(image, ["sleep", "600"], name="dw-v6b", detach=True)
    r = client.post(f"{BASE}dw-full/connect/", {"container": "dw-v6b", "ipv6_address": "fd00:46::10"}, format="json")
    assert r.status_code == 409 and "dw-v6" in r.json()["detail"]
    assert "dw-full" not in attached(engine, "dw-v6b")


def test_remove_several_and_prune_with_preview(api_as, host, engine, run_busybox):
    client = api_as("operator")
    for n in ("dw-p1", "dw-p2", "dw-p3", "dw-keep"):
        assert client.post(BASE, {"name": n}, format="json").status_code == 201
    run_busybox("dw-user", network="dw-keep")
    before_other = {n.name for n in engine.networks.list()} - {"dw-p1", "dw-p2", "dw-p3", "dw-keep"}

    r = client.post(f"{BASE}remove/", {"networks": ["dw-p1", "dw-keep", "dw-nosuch"]}, format="json")
    assert r.status_code == 200
    assert r.json()["removed"] == ["dw-p1"]
    assert "still used by dw-user" in r.json()["errors"]["dw-keep"] and "dw-nosuch" in r.json()["errors"]
    names = {n.name for n in engine.networks.list()}
    assert "dw-p1" not in names and "dw-keep" in names

    viewer = api_as("viewer", "watcher")
    r = viewer.post(f"{BASE}prune/", {"dry_run": True}, format="json")
    assert r.status_code == 200
    preview = r.json()["removed"]
    assert {"dw-p2", "dw-p3"} <= set(preview) and "dw-keep" not in preview
    assert not {"bridge", "host", "none"} & set(preview)
    assert {n.name for n in engine.networks.list()} == names  # a dry run changes nothing
    assert viewer.post(f"{BASE}prune/", {}, format="json").status_code == 403

    r = client.post(f"{BASE}prune/", {"only": ["dw-p2"]}, format="json")
    assert r.json()["removed"] == ["dw-p2"]
    r = client.post(f"{BASE}prune/", {}, format="json")
    assert r.status_code == 200 and set(r.json()["removed"]) == set(preview) - {"dw-p2"}
    names = {n.name for n in engine.networks.list()}
    assert "dw-keep" in names and "dw-p3" not in names and {"bridge", "host", "none"} <= names
    assert before_other - names == set(preview) - {"dw-p2", "dw-p3"}
    row = Activity.objects.filter(action="network.prune").order_by("-at").first()
    assert row.outcome == "ok" and set(row.detail["removed"]) == set(preview) - {"dw-p2"}
