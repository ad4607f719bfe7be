"""Benchmark of the live mirror (run by `make bench ARGS=bench/bench_reconcile.py`, which starts
a private engine and Redis and sets DOCKER_HOST).

1. Full reconcile of a host with 300 containers, 50 networks and 300 volumes, as a ratio to the
   bare docker SDK calls that fetch the same facts (list networks, list volumes, list containers,
   inspect every container), made one after another as a script would. Measured cold (empty
   mirror) and warm (mirror already equal), median of several runs each.
2. Event-to-mirror latency over 200 changes made with the docker SDK while `manage.py watch` runs
   as its own process: from the engine event's `timeNano` to the moment the row is visible in
   the database (polled every millisecond from this process), p50 and p95.

Everything it creates on the engine and in the database is removed at the end."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerweb.settings")

import django  # noqa: E402

django.setup()

import docker  # noqa: E402  (the benchmark is a client of the engine, like the tests)
from docker.types import IPAMConfig, IPAMPool  # noqa: E402

from dockerweb.inventory.models import Container, Host, Network, Volume  # noqa: E402
from dockerweb.inventory.services import host_reconcile, host_register  # noqa: E402

IMAGE = "dockerweb-test/busybox:latest"
PREFIX = "bench-mirror"
N_NETWORKS, N_VOLUMES, N_CONTAINERS, N_RUNNING = 50, 300, 300, 60
ROUNDS = 40  # × 5 changes = 200
RUNS = 5


def populate(client: docker.DockerClient) -> None:
    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: client.networks.create(
            f"{PREFIX}-net{i}", labels={"bench": "1"},
            ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=f"10.200.{i}.0/24", gateway=f"10.200.{i}.1")])),
            range(N_NETWORKS)))
        list(pool.map(lambda i: client.volumes.create(f"{PREFIX}-vol{i}", labels={"bench": "1"}), range(N_VOLUMES)))

        def make(i):
            c = client.containers.create(
                IMAGE, ["sleep", "3600"], name=f"{PREFIX}-c{i}", labels={"bench": "1", "n": str(i)},
                network=f"{PREFIX}-net{i % N_NETWORKS}",
                volumes={f"{PREFIX}-vol{i}": {"bind": "/data", "mode": "rw"}},
                ports={"80/tcp": ("127.0.0.1", None)} if i % 3 == 0 else None)
            if i < N_RUNNING:
                c.start()
        list(pool.map(make, range(N_CONTAINERS)))
    print(f"populated: {N_CONTAINERS} containers ({N_RUNNING} running), {N_NETWORKS} networks, "
          f"{N_VOLUMES} volumes in {time.monotonic() - t0:.1f}s")


def cleanup(client: docker.DockerClient) -> None:
    def rm_container(c):
        try:
            c.remove(force=True)
        except docker.errors.NotFound:
            pass

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(rm_container, client.containers.list(all=True, filters={"name": PREFIX})))
        list(pool.map(lambda n: n.remove(), client.networks.list(names=None, filters={"name": PREFIX})))
        list(pool.map(lambda v: v.remove(force=True), client.volumes.list(filters={"name": PREFIX})))


def bare_fetch(api: docker.APIClient, threads: int = 1) -> int:
    """What a reconcile must learn from the engine, with nothing else around it."""
    api.networks()
    api.volumes()
    ids = [c["Id"] for c in api.containers(all=True)]
    if threads == 1:
        found = [api.inspect_container(i) for i in ids]
    else:
        with ThreadPoolExecutor(threads) as pool:
            found = list(pool.map(api.inspect_container, ids))
    return len(found)


def median_time(fn, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def mirror_clear(host: Host) -> None:
    Container.objects.filter(host=host).delete()
    Network.objects.filter(host=host).delete()
    Volume.objects.filter(host=host).delete()


def bench_reconcile(client: docker.DockerClient, host: Host) -> None:
    api = docker.APIClient(base_url=os.environ["DOCKER_HOST"], version="1.41", timeout=120)
    bare_fetch(api)  # warm the engine's caches once for both sides
    host_reconcile(host=host)
    base_seq = median_time(lambda: bare_fetch(api))
    base_par = median_time(lambda: bare_fetch(api, threads=8))

    split = {"cold": [], "warm": []}

    def cold():
        mirror_clear(host)
        t0 = time.perf_counter()
        split["cold"].append(host_reconcile(host=host).seconds)
        return time.perf_counter() - t0

    def warm():
        split["warm"].append(host_reconcile(host=host).seconds)

    cold_t = statistics.median([cold() for _ in range(RUNS)])
    warm_t = median_time(warm)
    n = Container.objects.filter(host=host).count()
    print(f"reconcile of {n} containers, {Network.objects.filter(host=host).count()} networks, "
          f"{Volume.objects.filter(host=host).count()} volumes (median of {RUNS}):")
    print(f"  bare docker SDK list+inspect, sequential : {base_seq * 1000:8.1f} ms  (baseline)")
    print(f"  bare docker SDK list+inspect, 8 threads  : {base_par * 1000:8.1f} ms  ({base_par / base_seq:.2f}x)")
    print(f"  host_reconcile, cold (empty mirror)      : {cold_t * 1000:8.1f} ms  ratio {cold_t / base_seq:.2f}x "
          f"(vs threaded bare {cold_t / base_par:.2f}x)")
    print(f"  host_reconcile, warm (mirror up to date) : {warm_t * 1000:8.1f} ms  ratio {warm_t / base_seq:.2f}x "
          f"(vs threaded bare {warm_t / base_par:.2f}x)")
    for kind, parts in split.items():
        eng = statistics.median(p["engine"] for p in parts) * 1000
        mir = statistics.median(p["mirror"] for p in parts) * 1000
        print(f"    {kind}: asking the engine {eng:.1f} ms, comparing and writing the mirror {mir:.1f} ms")
    print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    api.close()


class EventLog(threading.Thread):
    """This process's own subscription to the engine's events: {(type, action, id): timeNano}."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.stream = client.events(decode=True, since=int(time.time()))
        self.seen: dict[tuple, int] = {}
        self.cond = threading.Condition()

    def run(self):
        try:
            for ev in self.stream:
                key = (ev.get("Type"), ev.get("Action"), (ev.get("Actor") or {}).get("ID"))
                with self.cond:
                    self.seen.setdefault(key, ev["timeNano"])
                    self.cond.notify_all()
        except Exception:
            pass

    def time_of(self, key, timeout=5.0) -> int:
        with self.cond:
            self.cond.wait_for(lambda: key in self.seen, timeout)
            return self.seen[key]


def visible(predicate, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.time_ns()
        time.sleep(0.001)
    raise TimeoutError("the change did not reach the mirror")


def bench_latency(client: docker.DockerClient, host: Host) -> None:
    env = dict(os.environ)
    log = open(Path(os.environ.get("DOCKERWEB_DATA_DIR", ROOT / "var")) / "bench-watcher.log", "ab")
    watcher = subprocess.Popen([sys.executable, "manage.py", "watch"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    events = EventLog(client)
    events.start()
    try:
        deadline = time.monotonic() + 60
        while Host.objects.get(pk=host.pk).watching_since is None:
            if time.monotonic() > deadline or watcher.poll() is not None:
                raise RuntimeError("the watcher did not start following the host")
            time.sleep(0.05)
        lat: dict[str, list[float]] = {"volume create": [], "network create": [], "container create": [],
                                        "container start": [], "container destroy": []}

        def record(kind, key, predicate):
            seen = visible(predicate)
            lat[kind].append((seen - events.time_of(key)) / 1e6)

        for i in range(ROUNDS):
            v = client.volumes.create(f"{PREFIX}-lat-v{i}")
            record("volume create", ("volume", "create", v.name),
                   lambda: Volume.objects.filter(host=host, name=v.name).exists())
            n = client.networks.create(f"{PREFIX}-lat-n{i}", ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=f"10.201.{i}.0/24")]))
            record("network create", ("network", "create", n.id),
                   lambda: Network.objects.filter(host=host, engine_id=n.id).exists())
            c = client.containers.create(IMAGE, ["sleep", "3600"], name=f"{PREFIX}-lat-c{i}", network=n.name,
                                         volumes={v.name: {"bind": "/data", "mode": "rw"}})
            record("container create", ("container", "create", c.id),
                   lambda: Container.objects.filter(host=host, engine_id=c.id).exists())
            c.start()
            record("container start", ("container", "start", c.id),
                   lambda: Container.objects.filter(host=host, engine_id=c.id, state="running").exists())
            c.remove(force=True)
            record("container destroy", ("container", "destroy", c.id),
                   lambda: not Container.objects.filter(host=host, engine_id=c.id).exists())
        every = sorted(x for xs in lat.values() for x in xs)

        def pct(xs, p):
            xs = sorted(xs)
            return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

        print(f"event-to-mirror latency over {len(every)} changes (engine timeNano → row visible in the database):")
        print(f"  all               : p50 {pct(every, 50):6.1f} ms   p95 {pct(every, 95):6.1f} ms   max {every[-1]:6.1f} ms")
        for kind, xs in lat.items():
            print(f"  {kind:<18}: p50 {pct(xs, 50):6.1f} ms   p95 {pct(xs, 95):6.1f} ms")
    finally:
        watcher.terminate()
        try:
            watcher.wait(10)
        except subprocess.TimeoutExpired:
            watcher.kill()
        events.stream.close()
        log.close()


def main() -> None:
    client = docker.DockerClient(base_url=os.environ["DOCKER_HOST"], version="1.41", timeout=120)
    print(f"engine {client.version()['Version']} at {os.environ['DOCKER_HOST']}, {os.cpu_count()} CPUs")
    cleanup(client)  # leftovers of an interrupted run
    host = host_register(name=PREFIX, url=os.environ["DOCKER_HOST"])
    try:
        populate(client)
        bench_reconcile(client, host)
        bench_latency(client, host)
    finally:
        cleanup(client)
        Host.objects.filter(pk=host.pk).delete()
        left = client.containers.list(all=True, filters={"name": PREFIX})
        print(f"cleaned up ({len(left)} containers left)")
        client.close()


if __name__ == "__main__":
    main()
