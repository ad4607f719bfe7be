"""The model alone, on snapshots built by hand: the cases a real engine cannot be put into here
(the default bridge with ICC off is a daemon flag) and the edges of the rules."""
from dockerweb.audit.findings import findings_of
from dockerweb.audit.model import Ctr, Net, Snapshot, compute


def _snap(nets, ctrs):
    return Snapshot(host="t", networks={n.id: n for n in nets}, containers={c.id: c for c in ctrs})


def _ep(net, ip, gw=""):
    return {"network": net.id, "network_name": net.name, "ip": ip, "gateway": gw, "aliases": [], "links": []}


BRIDGE = Net(id="b" * 64, name="bridge", driver="bridge", subnets=["172.17.0.0/16"], gateways=["172.17.0.1"])
NONE = Net(id="0" * 64, name="none", driver="null")


def test_links_on_a_default_bridge_with_icc_off_resolve_but_do_not_carry_ping():
    quiet = Net(id=BRIDGE.id, name="bridge", driver="bridge", icc=False, subnets=BRIDGE.subnets)
    a = Ctr(id="a" * 64, name="a", endpoints=[_ep(quiet, "172.17.0.2")])
    b = Ctr(id="c" * 64, name="b", links=["a:alias"], endpoints=[_ep(quiet, "172.17.0.3")])
    m = compute(_snap([quiet], [a, b]))
    cell = m["cells"][f"{b.id}>{a.id}"]
    assert not cell["by_ip"] and not cell["by_name"] and cell["blocked"]
    assert any(p["kind"] == "link" for p in cell["paths"])
    assert not any(f["rule"] == "default_bridge_icc" for f in findings_of(_snap([quiet], [a, b])))


def test_none_mode_containers_do_not_meet_on_the_none_network():
    x = Ctr(id="1" * 64, name="x", network_mode="none", endpoints=[_ep(NONE, "")])
    y = Ctr(id="2" * 64, name="y", network_mode="none", endpoints=[_ep(NONE, "")])
    m = compute(_snap([NONE], [x, y]))
    assert m["cells"] == {}
    assert all(c["exposure"]["isolated"] and not c["exposure"]["egress"] for c in m["containers"])


def test_container_mode_chains_to_the_owner_and_stopped_containers_take_no_part():
    owner = Ctr(id="3" * 64, name="owner", endpoints=[_ep(BRIDGE, "172.17.0.5")])
    f1 = Ctr(id="4" * 64, name="f1", network_mode=f"container:{owner.id}")
    f2 = Ctr(id="5" * 64, name="f2", network_mode="container:f1")  # by name, through f1
    gone = Ctr(id="6" * 64, name="gone", state="exited", endpoints=[_ep(BRIDGE, "172.17.0.9")])
    m = compute(_snap([BRIDGE], [owner, f1, f2, gone]))
    assert m["cells"][f"{f2.id}>{owner.id}"]["paths"][0]["kind"] == "netns"
    assert m["cells"][f"{f2.id}>{f1.id}"]["by_ip"]
    assert not any(gone.id in k for k in m["cells"])
    info = {c["name"]: c for c in m["containers"]}
    assert info["f2"]["netns_owner"] == owner.id and info["f2"]["addresses"] == {"bridge": "172.17.0.5"}


def test_dns_names_need_a_shared_user_network_that_carries_traffic():
    app = Net(id="7" * 64, name="app", driver="bridge", subnets=["10.9.0.0/24"])
    a = Ctr(id="8" * 64, name="a", endpoints=[_ep(app, "10.9.0.2"), _ep(BRIDGE, "172.17.0.2")])
    b = Ctr(id="9" * 64, name="b", endpoints=[_ep(BRIDGE, "172.17.0.3")])
    c = Ctr(id="d" * 64, name="c", endpoints=[_ep(app, "10.9.0.3")])
    m = compute(_snap([app, BRIDGE], [a, b, c]))
    assert m["cells"][f"{a.id}>{b.id}"]["by_ip"] and not m["cells"][f"{a.id}>{b.id}"]["by_name"]
    assert m["cells"][f"{a.id}>{c.id}"]["by_name"] and m["cells"][f"{c.id}>{a.id}"]["by_name"]
    assert f"{b.id}>{c.id}" not in m["cells"]
