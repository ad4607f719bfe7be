"""Benchmark of the isolation audit (run by `make bench ARGS=bench/bench_audit.py`, which starts
a private engine and Redis and sets DOCKER_HOST).

1. The reachability model for 500 containers on 50 networks (target: under one second). The
   mirror rows are written directly in the database for a host that is not watched — the model
   only reads the mirror, and starting 500 containers on a shared 2-core machine takes minutes.
   The host mixes what the model must handle: 5 internal and 5 ICC-off networks, containers on
   two networks, host, none and container modes, links, published ports. Measured: loading the
   snapshot from the database, computing the matrix, computing the findings (median of 5), as a
   ratio to the baseline of reading the same rows with the ORM alone.
2. Live probes of 100 pairs on the real engine: 11 running containers on three bridges (one with
   ICC off, one container on two), every ordered pair but ten (= 100), with 4 and with 8 helpers
   at a time; as a ratio to the baseline of one helper that runs `true` (create, start, wait, remove).

Everything it creates on the engine and in the database is removed at the end."""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerweb.settings")

import django  # noqa: E402

django.setup()

import docker  # noqa: E402  (the benchmark is a client of the engine, like the tests)
from docker.types import IPAMConfig, IPAMPool  # noqa: E402

from dockerweb.audit import findings as findings_mod  # noqa: E402
from dockerweb.audit import model, probing, selectors  # noqa: E402
from dockerweb.engine import probes as engine_probes  # noqa: E402
from dockerweb.inventory.models import Container, Endpoint, Host, Network, PortBinding  # noqa: E402
from dockerweb.inventory.services import host_reconcile, host_register  # noqa: E402

IMAGE = "dockerweb-test/busybox:latest"
N_CONTAINERS, N_NETWORKS, RUNS = 500, 50, 5


def median_time(fn, runs=RUNS):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def build_mirror() -> Host:
    Host.objects.filter(name="bench-audit").delete()
    host = Host.objects.create(name="bench-audit", url="unix:///nonexistent/bench-audit.sock")
    nets = []
    for i in range(N_NETWORKS):
        opts = {"com.docker.network.bridge.enable_icc": "false"} if 5 <= i < 10 else {}
        nets.append(Network(host=host, engine_id=f"{i:064x}", name="bridge" if i == 0 else f"net{i}", driver="bridge",
                            internal=i >= 45, options=opts,
                            ipam_config=[{"subnet": f"10.{100 + i // 200}.{i % 200}.0/24", "gateway": f"10.{100 + i // 200}.{i % 200}.1"}]))
    Network.objects.bulk_create(nets)
    nets = list(Network.objects.filter(host=host).order_by("engine_id"))
    ctrs = []
    for i in range(N_CONTAINERS):
        mode = "host" if i % 100 == 1 else "none" if i % 100 == 2 else f"container:{(i - 1):064x}" if i % 50 == 3 else ""
        ctrs.append(Container(host=host, engine_id=f"{i:064x}", name=f"c{i}", state="running" if i % 25 else "exited",
                              network_mode=mode or nets[i % N_NETWORKS].name, labels={"app": f"a{i % 7}"},
                              links=[f"c{i - 50}:l{i}"] if i % 97 == 0 and i >= 50 else []))
    Container.objects.bulk_create(ctrs)
    ctrs = list(Container.objects.filter(host=host).order_by("engine_id"))
    eps, ports = [], []
    for i, c in enumerate(ctrs):
        if c.network_mode in ("host", "none") or c.network_mode.startswith("container:"):
            continue
        homes = [nets[i % N_NETWORKS]] + ([nets[(i * 7 + 3) % N_NETWORKS]] if i % 10 == 0 else [])
        for n in dict.fromkeys(homes):
            k = len(eps)
            eps.append(Endpoint(container=c, network=n, network_name=n.name, network_engine_id=n.engine_id,
                                ipv4_address=n.ipam_config[0]["subnet"].rsplit(".", 1)[0] + f".{2 + (i // N_NETWORKS) % 250}",
                                gateway=n.ipam_config[0]["gateway"], aliases=[c.name], endpoint_id=f"{k:064x}"))
        if i % 4 == 0:
            ports.append(PortBinding(container=c, container_port=80, host_ip="0.0.0.0" if i % 8 == 0 else "127.0.0.1",
                                     host_port=20000 + i))
    Endpoint.objects.bulk_create(eps, batch_size=500)
    PortBinding.objects.bulk_create(ports, batch_size=500)
    return host


def bench_model() -> None:
    host = build_mirror()
    try:
        def orm_only():
            list(Network.objects.filter(host=host).values())
            list(Container.objects.filter(host=host).values())
            list(Endpoint.objects.filter(container__host=host).values())
            list(PortBinding.objects.filter(container__host=host).values())

        base = median_time(orm_only)
        load = median_time(lambda: selectors.snapshot_of(host=host))
        snap = selectors.snapshot_of(host=host)
        compute = median_time(lambda: model.compute(snap))
        matrix = model.compute(snap)
        find = median_time(lambda: findings_mod.findings_of(snap, matrix))
        total = median_time(lambda: selectors.audit_model(host=host))
        running = sum(1 for c in matrix["containers"] if c["state"] == "running")
        reach = sum(1 for c in matrix["cells"].values() if c["by_ip"])
        print(f"model: {N_CONTAINERS} containers ({running} running) on {N_NETWORKS} networks, "
              f"{len(matrix['cells'])} cells listed, {reach} reachable ordered pairs, "
              f"{len(findings_mod.findings_of(snap, matrix))} findings")
        print(f"  baseline (ORM reads of the same rows): {base * 1000:8.1f} ms")
        print(f"  snapshot load:                         {load * 1000:8.1f} ms  ({load / base:.2f}x baseline)")
        print(f"  matrix compute:                        {compute * 1000:8.1f} ms  ({compute / base:.2f}x baseline)")
        print(f"  findings:                              {find * 1000:8.1f} ms  ({find / base:.2f}x baseline)")
        print(f"  whole model (load+matrix+findings):    {total * 1000:8.1f} ms  ({total / base:.2f}x baseline; "
              f"target < 1000 ms: {'met' if total < 1 else 'MISSED'})")
    finally:
        host.delete()


def bench_probes() -> None:
    client = docker.DockerClient(base_url=os.environ["DOCKER_HOST"], version="1.41", timeout=120)
    made_nets, made = [], []
    try:
        for i, extra in enumerate(({}, {}, {"com.docker.network.bridge.enable_icc": "false"})):
            made_nets.append(client.networks.create(
                f"bench-audit-{i}", options=extra or None,
                ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=f"10.89.{i}.0/24")])))
        for i in range(11):
            c = client.containers.run(IMAGE, ["sleep", "600"], name=f"bench-audit-c{i}", detach=True,
                                      network=made_nets[i % 3].name, labels={"bench": "audit"})
            made.append(c)
        made_nets[1].connect(made[0])
        host = host_register(name="bench-audit-live", url=os.environ["DOCKER_HOST"])
        host_reconcile(host=host)
        matrix, _ = selectors.audit_model(host=host)
        ids = [c["id"] for c in matrix["containers"] if c["state"] == "running" and c["name"].startswith("bench-audit-c")]
        pairs = [(s, t) for s in ids for t in ids if s != t][:100]
        image = engine_probes.probe_image(host)
        base = median_time(lambda: engine_probes.netns_run(host, ids[0], "true", image=image), runs=3)
        t0 = time.perf_counter()
        result = probing.probe_pairs(host, matrix, pairs, parallel=4)
        took = time.perf_counter() - t0
        agree = sum(1 for r in result["pairs"] if r["agrees"])
        print(f"probes: {len(pairs)} pairs, {result['helpers']} helpers (4 at a time), "
              f"{agree} agree with the model, {len(result['mismatches'])} mismatches, errors: {result['errors'] or 'none'}")
        print(f"  baseline (one helper running `true`):  {base * 1000:8.1f} ms")
        print(f"  100 pairs probed:                      {took * 1000:8.1f} ms  ({took / base:.1f}x baseline, "
              f"{took / len(pairs) * 1000:.0f} ms per pair)")
        t0 = time.perf_counter()
        result8 = probing.probe_pairs(host, matrix, pairs, parallel=8)
        took8 = time.perf_counter() - t0
        print(f"  100 pairs probed, 8 helpers at a time: {took8 * 1000:8.1f} ms  ({took8 / base:.1f}x baseline, "
              f"{len(result8['mismatches'])} mismatches)")
        left = engine_probes.probe_helpers_left(host)
        print(f"  helpers left on the engine: {len(left)}")
        host.delete()
    finally:
        for c in made:
            try:
                c.remove(force=True)
            except docker.errors.NotFound:
                pass
        for n in made_nets:
            try:
                n.remove()
            except docker.errors.NotFound:
                pass
        client.close()


if __name__ == "__main__":
    bench_model()
    bench_probes()
