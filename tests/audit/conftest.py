"""A host built for the audit: every case the model and the findings must tell apart.

Networks: aud-n1 and aud-n2 (user bridges), aud-int (--internal), aud-icc (enable_icc=false),
aud-ov and the config-only aud-ovcfg (overlapping subnets), and the default bridge.
Containers, each the case of one or more rules:
  web       aud-n1, 80/tcp published on 0.0.0.0 (all interfaces), IPC shareable
  sidecar   --network container:web, --pid container:web, --ipc container:web
  api       aud-n1 + aud-n2 (bridges two networks), 8080/tcp on 127.0.0.1
  db        aud-n2
  lowport   aud-n2, 127.0.0.1:80 (a privileged port)
  priv      aud-n2, --privileged (created, not started: this machine cannot grant it)
  int1      aud-int
  int2      aud-int, asks for -p 127.0.0.1::80 (internal network with published ports)
  icc1/icc2 aud-icc
  legacy1   default bridge
  legacy2   default bridge, --link legacy1:old
  hostnet   --network host
  sockmount --network none, the engine's socket bind-mounted read-only
  etcmount  --network none, /etc bind-mounted read-only
  ovl       aud-ov
"""
from __future__ import annotations

import os

import pytest

IMAGE = "dockerweb-test/busybox:latest"
LABEL = {"dockerweb.test": "audit"}


def _net(engine, name, subnet, **kw):
    from docker.types import IPAMConfig, IPAMPool

    return engine.networks.create(name, driver=kw.pop("driver", "bridge"),
                                  ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=subnet)]), **kw)


@pytest.fixture
def audit_scenario(engine, engine_url):
    """Build the host on the engine; return {name: container} (removed by `engine`)."""
    n1 = _net(engine, "aud-n1", "10.81.0.0/24")
    n2 = _net(engine, "aud-n2", "10.82.0.0/24")
    _net(engine, "aud-int", "10.83.0.0/24", internal=True)
    _net(engine, "aud-icc", "10.84.0.0/24", options={"com.docker.network.bridge.enable_icc": "false"})
    _net(engine, "aud-ov", "10.85.0.0/24")
    # docker-py has no config_only: the engine's own endpoint takes it.
    engine.api._result(engine.api._post_json(engine.api._url("/networks/create"), data={
        "Name": "aud-ovcfg", "ConfigOnly": True, "IPAM": {"Config": [{"Subnet": "10.85.0.0/24"}]}}), True)
    sock = engine_url.replace("unix://", "")
    run = lambda name, **kw: engine.containers.run(IMAGE, kw.pop("command", ["sleep", "1d"]), name=name, detach=True,
                                                    labels={**LABEL, **kw.pop("labels", {})}, **kw)
    c = {}
    c["web"] = run("web", network="aud-n1", ports={"80/tcp": ("0.0.0.0", None)}, ipc_mode="shareable",
                   command=["httpd", "-f", "-p", "80"], labels={"tier": "front"})
    c["sidecar"] = run("sidecar", network_mode=f"container:{c['web'].id}", pid_mode=f"container:{c['web'].id}",
                       ipc_mode=f"container:{c['web'].id}", labels={"tier": "front"})
    c["api"] = run("api", network="aud-n1", ports={"8080/tcp": ("127.0.0.1", None)}, labels={"tier": "back"})
    n2.connect(c["api"])
    c["db"] = run("db", network="aud-n2", labels={"tier": "back"})
    c["lowport"] = run("lowport", network="aud-n2", ports={"80/tcp": ("127.0.0.1", 80)})
    # This machine cannot grant a privileged container its capabilities (runc: "unable to apply
    # caps"), so it is created, not started: the engine still holds its privileged config.
    c["priv"] = engine.containers.create(IMAGE, ["sleep", "1d"], name="priv", network="aud-n2", privileged=True, labels=LABEL)
    c["int1"] = run("int1", network="aud-int")
    c["int2"] = run("int2", network="aud-int", ports={"80/tcp": ("127.0.0.1", None)})
    c["icc1"] = run("icc1", network="aud-icc")
    c["icc2"] = run("icc2", network="aud-icc")
    c["legacy1"] = run("legacy1")
    c["legacy2"] = run("legacy2", links={"legacy1": "old"})
    c["hostnet"] = run("hostnet", network_mode="host")
    c["sockmount"] = run("sockmount", network_mode="none", volumes={sock: {"bind": "/var/run/docker.sock", "mode": "ro"}})
    c["etcmount"] = run("etcmount", network_mode="none", volumes={"/etc": {"bind": "/host-etc", "mode": "ro"}})
    c["ovl"] = run("ovl", network="aud-ov")
    assert n1 and os.path.exists(sock)
    return c


@pytest.fixture
def audit_host(audit_scenario, host):
    """The scenario, mirrored (the `host` fixture reconciles after the scenario is built)."""
    from dockerweb.inventory.services import host_reconcile

    host_reconcile(host=host)
    return host
