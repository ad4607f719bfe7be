"""Helpers of the networks tests: the engine's network state, to prove a refusal changed nothing."""
import pytest

IMAGE = "dockerweb-test/busybox:latest"


def engine_snapshot(client) -> dict:
    """Every network (id, name, driver, IPAM, options, who is attached with which address) and
    every container's own view of its networks (which shows ghost endpoints too)."""
    nets = {}
    for n in client.networks.list():
        a = client.api.inspect_network(n.id)
        nets[a["Id"]] = {
            "name": a["Name"], "driver": a["Driver"], "ipam": a["IPAM"], "options": a.get("Options"),
            "labels": a.get("Labels"), "internal": a.get("Internal"),
            "containers": {cid: (ep.get("IPv4Address"), ep.get("IPv6Address")) for cid, ep in (a.get("Containers") or {}).items()},
        }
    conts = {}
    for c in client.containers.list(all=True):
        a = client.api.inspect_container(c.id)
        conts[a["Id"]] = {k: (v.get("NetworkID"), v.get("IPAddress"), tuple(v.get("Aliases") or ()))
                          for k, v in (a["NetworkSettings"]["Networks"] or {}).items()}
    return {"networks": nets, "containers": conts}


@pytest.fixture
def run_busybox(engine):
    """Start a busybox container that sleeps (SDK: running containers is another app's API)."""

    def run(name: str, **kw):
        return engine.containers.run(IMAGE, ["sleep", "600"], name=name, detach=True, **kw)

    return run
