"""The walkthrough's every network and mount mode, built on the real engine with the docker SDK."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

IMAGE = "dockerweb-test/busybox:latest"


@dataclass
class Walkthrough:
    net: object
    volume: object
    web: object
    db: object
    app: object
    hostc: object
    nonec: object
    side: object
    bind_dir: str

    def containers(self):
        return [self.web, self.db, self.app, self.hostc, self.nonec, self.side]


def _run(engine, name, *, network=None, ports=None, binds=None, tmpfs=None, links=None, network_mode=None,
         endpoint=None, mounts=None):
    api = engine.api
    hc = api.create_host_config(port_bindings=ports or {}, binds=binds or {}, tmpfs=tmpfs or {}, links=links or {},
                                network_mode=network_mode or network or "bridge", mounts=mounts or [])
    nc = api.create_networking_config({network: api.create_endpoint_config(**endpoint)}) if endpoint else None
    exposed = [(int(p.split("/")[0]), p.split("/")[1]) if isinstance(p, str) else int(p) for p in (ports or {})]
    created = api.create_container(IMAGE, ["sleep", "600"], name=name, host_config=hc, networking_config=nc,
                                   ports=exposed or None)
    api.start(created["Id"])
    return engine.containers.get(created["Id"])


@pytest.fixture
def walkthrough(engine) -> Walkthrough:
    """user bridge with a fixed IP and an alias, default bridge, host, none and container modes,
    a legacy link, each `-p` form, a shared volume (rw and ro), a read-only bind and a tmpfs."""
    bind_dir = Path(os.environ.get("DOCKERWEB_DATA_DIR", "var")).resolve() / "binds" / "topo-cfg"
    bind_dir.mkdir(parents=True, exist_ok=True)
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="172.30.0.0/24", gateway="172.30.0.1")])
    net = engine.networks.create("dw-topo-app", driver="bridge", ipam=ipam)
    vol = engine.volumes.create("dw-topo-data")
    web = _run(engine, "dw-topo-web", network="dw-topo-app",
               endpoint={"ipv4_address": "172.30.0.10", "aliases": ["www"]},
               ports={80: ("127.0.0.1", 18081)},                      # -p 127.0.0.1:18081:80
               binds={str(bind_dir): {"bind": "/cfg", "mode": "ro"}},  # read-only bind
               tmpfs={"/cache": "size=1m"})                           # --tmpfs /cache
    db = _run(engine, "dw-topo-db", ports={80: 18080},                # -p 18080:80
              binds={"dw-topo-data": {"bind": "/data", "mode": "rw"}},
              mounts=[docker.types.Mount("/scratch", None, type="tmpfs")])  # --mount type=tmpfs
    app = _run(engine, "dw-topo-app1", links={"dw-topo-db": "database"},
               ports={80: ("127.0.0.1",), "53/udp": None},            # -p 127.0.0.1::80 and -p 53/udp
               binds={"dw-topo-data": {"bind": "/data", "mode": "ro"}})
    hostc = _run(engine, "dw-topo-hostc", network_mode="host")
    nonec = _run(engine, "dw-topo-nonec", network_mode="none")
    side = _run(engine, "dw-topo-side", network_mode="container:dw-topo-web")
    return Walkthrough(net=net, volume=vol, web=web, db=db, app=app, hostc=hostc, nonec=nonec, side=side,
                       bind_dir=str(bind_dir))


def apply_ops(graph: dict, ops: list[dict]) -> dict:
    """Apply `topology.patch` ops to an API answer, as the page does."""
    nodes = {n["id"]: n for n in graph["nodes"]}
    edges = {e["id"]: e for e in graph["edges"]}
    for op in ops:
        table = nodes if op["kind"] == "node" else edges
        if op["op"] == "remove":
            table.pop(op["id"], None)
        else:
            assert op["data"]["id"] == op["id"]
            table[op["id"]] = op["data"]
    # The API leaves out edges whose ends are gone; so does the page's graph.
    edges = {k: e for k, e in edges.items() if e["source"] in nodes and e["target"] in nodes}
    return {"nodes": list(nodes.values()), "edges": list(edges.values())}


def by_id(graph: dict) -> tuple[dict, dict]:
    return {n["id"]: n for n in graph["nodes"]}, {e["id"]: e for e in graph["edges"]}
