"""Benchmark of scale-out (issue 14): 8 engines, two watcher processes sharing them, one web tier
(run by `make bench ARGS=bench/bench_scale.py`, best with BENCH_ID=scale: `make bench` starts the
first engine and a private Redis; this script starts the 7 others with scripts/sandbox.sh under
`<engine>-s1`…`-s7` and stops them at the end, whatever happens).

Each engine (hosts `s0`…`s7`, each a private dockerd in its own network namespace) gets 10
networks, 20 volumes and 100 containers (every second one mounts a volume, every tenth publishes
a port); 20 per engine are started. On `s0`, the burst engine, all 100 run and publish a port: a
restart gives a container a new host port, so every restart changes the graph even when the
watcher sees only its final state (its inspect waits while the engine starts the container). Real `manage.py watch`
(two of them), real web tier (scripts/web.sh, one uvicorn worker per core), a real Celery worker,
a real websocket client, real headless Chromium. Printed:

1. Full reconcile of all 8 hosts (`host_reconcile` one host after another, cold: empty mirror,
   and warm: mirror equal), median of 3, against the baseline of the bare docker SDK list+inspect
   of the same objects (`bench_reconcile.bare_fetch`); then, with the two watchers running, which
   watcher follows which host and how long each took from taking the host's lease to following it
   (its own full reconcile). The leases do not balance (a watcher takes every free lease it
   sees), so the hosts are registered one at a time, each once the previous one's lease was
   taken: the two watchers' lease loops then take them in turn. Registered all at once, the
   first watcher to look would take all 8.
2. Memory (RSS, and the peak VmHWM at the end) of every process: the web tier's master and
   workers, both watchers, the Celery worker and its pool.
3. The topology page's first render with all 8 hosts (800 containers): the page's host select
   set to `*` (All hosts) before the page starts (an init script, on DOMContentLoaded, before
   topology-page.js's own listener), from the page's start to its first paint (timed from outside
   by bench/topology_timing.py's init script),
   median of 3 loads (each in a new tab), against the baseline of the 8 API answers fetched at
   once from Python; beside it the CPU time Chromium used meanwhile (from /proc) and the page's
   own main-thread task, script and layout durations (CDP Performance.getMetrics), to tell the
   page's work from the machine's contention; also the user's way: the page on one host, then
   "All hosts" chosen in the select. BENCH_SCALE_PROFILE=1 adds the page's top JS functions.
4. Latency, with ONE websocket client (its own process, the page's protocol: snapshots from the
   API with `seq`, patches in `seq` order, refetch on gap or resync — bench_load.LiveClient, one per
   host, on one socket) subscribed to all 8 hosts, and Redis's MONITOR (when the watcher noted
   each mirror change for the producer, i.e. wrote the mirror):
   - IDLE: every second, on each of s1…s7, a volume created and the previous one removed; event
     (the engine's `timeNano`) → mirror and event → patch on the socket;
   - QUIET: 15 container restarts on s0, one at a time (the baseline of the burst's figures);
   - BURST: 200 container restarts on s0 (each of its 100 containers twice, 4 threads), event
     (`die` and `start`) → mirror and → patch, while the probes of IDLE go on on the other hosts:
     their p95 beside IDLE's (target: within 2×), split by the watcher that follows them;
   then whether the client's picture of every host equals the API's.
5. TAKEOVER: `kill -9` of the watcher that follows more hosts; how long until the other follows
   them all, and how many hosts the killed watcher, started again, follows 10 s later.

BENCH_SCALE_PARTS (reconcile,render,latency,takeover) runs some parts only; BENCH_SCALE_PROFILE=1
samples the watchers and web workers with py-spy during the burst and prints what dominates.
The machine is shared (2 cores, other runs): figures are noisy; the load average is printed.
Everything it creates (containers, networks, volumes, hosts, processes, engines) is removed or
stopped by the script."""
from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_load import (LiveClient, Profiles, _expect, cpu_seconds, ms, pct, picture_diff,  # noqa: E402
                        picture_of_api, picture_of_model)
from topology_timing import PAINTED, TIMING_JS  # noqa: E402

IMAGE = "dockerweb-test/busybox:latest"
LABEL = {"dockerweb.bench": "scale"}
PREFIX = "bsc-"
N_ENGINES = int(os.environ.get("BENCH_SCALE_ENGINES", 8))
N_CONTAINERS = int(os.environ.get("BENCH_SCALE_CONTAINERS", 100))
N_NETWORKS, N_VOLUMES, N_RUNNING = 10, 20, 20
N_BURST = int(os.environ.get("BENCH_SCALE_BURST", 200))
BURST_THREADS = 4
N_QUIET = 15
IDLE_SECONDS = float(os.environ.get("BENCH_SCALE_IDLE", 30))
PROBE_EVERY = 1.0
RUNS = 3
GRACE = 5.0  # s after a phase for its last changes to arrive
PARTS = os.environ.get("BENCH_SCALE_PARTS", "reconcile,render,latency,takeover").split(",")
BURST_HOST = "s0"
HOSTS = [f"s{i}" for i in range(N_ENGINES)]

RENDER_TARGET = 2.0   # s, first render with all hosts
OTHERS_TARGET = 2.0   # burst p95 / idle p95 of the other hosts' event → patch
TAKEOVER_TARGET = 10.0

ALL_HOSTS_JS = """
document.addEventListener("DOMContentLoaded", function () {
  if (new URLSearchParams(location.search).get("dwall") !== "1") return;
  var s = document.querySelector("#topo-filters select[name=host]");
  if (s) s.value = "*";
});
"""
SWITCH_JS = """(n) => new Promise((resolve) => {
  const page = window.dwTopologyPage, s = document.querySelector("#topo-filters select[name=host]");
  const t0 = performance.now();
  s.value = "*";
  s.dispatchEvent(new Event("change"));
  (function check() {
    if (page.cy.nodes(".container").length >= n)
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t0)));
    else setTimeout(check, 5);
  })();
})"""


def out(line: str = "") -> None:
    print(line, flush=True)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


# --- engines ---------------------------------------------------------------------------------------

class Engines:
    """s0 is the engine `make bench` started; s1… are started (and stopped) here."""

    def __init__(self):
        base = os.environ["DOCKERWEB_BENCH_ENGINE"]
        self.sandboxes = {h: f"{base}-{h}" for h in HOSTS[1:]}
        self.urls = {BURST_HOST: os.environ["DOCKER_HOST"]}

    def start(self) -> None:
        from tests.support import procs

        def one(host):
            return host, procs.sandbox("start", self.sandboxes[host])

        with ThreadPoolExecutor(max(1, len(self.sandboxes))) as pool:
            for host, url in pool.map(one, self.sandboxes):
                self.urls[host] = url

    def stop(self) -> None:
        def one(name):
            subprocess.run([str(ROOT / "scripts" / "sandbox.sh"), "stop", name], cwd=ROOT,
                           capture_output=True, text=True)

        with ThreadPoolExecutor(max(1, len(self.sandboxes))) as pool:
            list(pool.map(one, self.sandboxes.values()))


def populate(clients: dict) -> dict[str, list[str]]:
    """Networks, volumes and containers on every engine (engines interleaved); returns the
    container ids per host."""
    def nets_and_vols(host):
        c = clients[host]
        for k in range(N_NETWORKS):
            c.networks.create(f"{PREFIX}net{k}", labels=LABEL)
        for k in range(N_VOLUMES):
            c.volumes.create(f"{PREFIX}vol{k}", labels=LABEL)

    def make(job):
        host, i = job
        c = clients[host].containers.create(
            IMAGE, ["sleep", "86400"], name=f"{PREFIX}c{i:03d}", labels=LABEL, network=f"{PREFIX}net{i % N_NETWORKS}",
            volumes={f"{PREFIX}vol{i % N_VOLUMES}": {"bind": "/data", "mode": "rw"}} if i % 2 == 0 else None,
            ports={"80/tcp": ("127.0.0.1", None)} if i % 10 == 0 or host == BURST_HOST else None)
        return host, i, c.id

    ids: dict[str, list[str]] = defaultdict(list)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(nets_and_vols, HOSTS))
        made = list(pool.map(make, [(h, i) for i in range(N_CONTAINERS) for h in HOSTS]))
        for host, i, cid in made:
            ids[host].append(cid)
        start = [(h, cid) for h, i, cid in made if h == BURST_HOST or i < N_RUNNING]
        list(pool.map(lambda job: clients[job[0]].api.start(job[1]), start))
    return ids


def engine_cleanup(client) -> None:
    import docker

    def quietly(fn):
        try:
            fn()
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            out(f"  cleanup: {exc}")

    with ThreadPoolExecutor(8) as pool:
        cs = client.containers.list(all=True, filters={"label": "dockerweb.bench=scale"})
        list(pool.map(lambda c: quietly(lambda: c.remove(force=True)), cs))
        ns = client.networks.list(filters={"label": "dockerweb.bench=scale"})
        list(pool.map(lambda n: quietly(n.remove), ns))
        vs = [v for v in client.volumes.list(filters={"name": PREFIX}) if v.name.startswith(PREFIX)]
        list(pool.map(lambda v: quietly(lambda: v.remove(force=True)), vs))


# --- what the engines, Redis and the socket saw -----------------------------------------------------

class EngineEvents(threading.Thread):
    """One engine's container and volume events: id → [(the event's own time, action)]."""

    def __init__(self, host: str, client):
        super().__init__(daemon=True, name=f"events-{host}")
        self.host = host
        self.by_id: dict[str, list] = defaultdict(list)
        self.lock = threading.Lock()
        self.stream = client.events(decode=True, filters={"type": ["container", "volume"]})

    def run(self):
        try:
            for ev in self.stream:
                action = (ev.get("Action") or ev.get("status") or "").split(":")[0]
                ident = (ev.get("Actor") or {}).get("ID") or ev.get("id") or ""
                with self.lock:
                    self.by_id[ident].append((ev["timeNano"] / 1e9, action))
        except Exception:
            pass

    def of(self, ident: str) -> list:
        with self.lock:
            return list(self.by_id.get(ident, ()))

    def close(self):
        try:
            self.stream.close()
        except Exception:
            pass


class RedisMonitor(threading.Thread):
    """Redis's own record (MONITOR) of every mirror change noted for a producer (the RPUSH the
    watcher makes right after writing the mirror) and every patch numbered (INCR of the seq)."""

    NOTED = re.compile(r"^RPUSH dockerweb:mirror:(\S+) (container|volume)\\t(\S+)$")
    NUMBERED = re.compile(r"^INCR(?:BY)? dockerweb:topology-seq:(\S+)(?: 1)?$")

    def __init__(self):
        super().__init__(daemon=True, name="redis-monitor")
        self.noted: dict[tuple, list[float]] = defaultdict(list)  # (host, kind, id) → times
        self.numbered: dict[str, list[float]] = defaultdict(list)
        self.ready = threading.Event()
        self.client = None

    def run(self):
        import redis

        self.client = redis.Redis.from_url(os.environ["REDIS_URL"])
        try:
            with self.client.monitor() as m:
                self.ready.set()
                for cmd in m.listen():
                    c = cmd["command"]
                    hit = self.NOTED.match(c)
                    if hit:
                        self.noted[hit.groups()].append(cmd["time"])
                    else:
                        hit = self.NUMBERED.match(c)
                        if hit:
                            self.numbered[hit.group(1)].append(cmd["time"])
        except Exception:
            pass

    def close(self):
        try:
            self.client.connection_pool.disconnect()
        except Exception:
            pass


# --- the websocket client (a process of its own) ------------------------------------------------------

async def _ws_main(base: str, cookie: str, hosts: list[str], conn) -> None:
    import aiohttp

    loop = asyncio.get_running_loop()
    recv = lambda: loop.run_in_executor(None, conn.recv)  # noqa: E731
    # (received, host, key, info) per patch and object: key a container id (its node, ports, edges;
    # info its node's new state, or None when only its other elements changed) or `vol:<name>`
    # (info the op)
    rx: list[tuple] = []
    hexid = re.compile(r"[0-9a-f]{64}")
    counts: Counter = Counter()
    errors: list[str] = []
    state = {"closing": False}
    subscribed = asyncio.Event()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.DummyCookieJar(),
                                     timeout=aiohttp.ClientTimeout(total=120)) as http:
        views = {h: LiveClient(0, base, cookie, http, host=h) for h in hosts}

        async def socket():
            """The page's `_connect`, for all hosts on one socket; reconnects with its backoff."""
            backoff = 0.25
            url = base.replace("http://", "ws://") + "/ws/topology/"
            while not state["closing"]:
                try:
                    async with http.ws_connect(url, origin=base, headers={"Cookie": cookie}, max_msg_size=0) as ws:
                        counts["connects"] += 1
                        backoff = 0.25
                        await ws.send_str(json.dumps({"type": "subscribe", "hosts": hosts}))
                        async for msg in ws:
                            if msg.type != aiohttp.WSMsgType.TEXT:
                                continue
                            now = time.time()
                            m = json.loads(msg.data)
                            kind, view = m.get("type"), views.get(m.get("host"))
                            if kind == "topology.patch" and view is not None:
                                counts["patches"] += 1
                                counts[f"patches {m['host']}"] += 1
                                touched: dict[str, str | None] = {}
                                for op in m.get("ops", ()):
                                    i = op["id"]
                                    if i.startswith("vol:"):
                                        rx.append((now, m["host"], i, op["op"]))
                                    elif i.startswith("ctr:"):
                                        touched[i[4:]] = ((op.get("data") or {}).get("data") or {}).get("state")
                                    elif not i.startswith(("net:", "hnet:", "host:")):
                                        found = hexid.search(i)
                                        if found:
                                            touched.setdefault(found.group(0), None)
                                rx.extend((now, m["host"], cid, st) for cid, st in touched.items())
                                view._on_patch(m)
                            elif kind == "topology.resync" and view is not None:
                                counts["server_resyncs"] += 1
                                view._resync()
                            elif kind == "subscribed" and "hosts" in m:
                                for v in views.values():
                                    v._on_subscribed(m)
                                subscribed.set()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    errors.append(f"socket: {exc!r}")
                if state["closing"]:
                    break
                backoff = min(backoff * 2, 15.0)
                await asyncio.sleep(backoff)

        await asyncio.gather(*(v.show() for v in views.values()))
        runner = asyncio.ensure_future(socket())
        await asyncio.wait_for(subscribed.wait(), 60)
        conn.send(("ready", {h: v.seq for h, v in views.items()}))

        cmd = await recv()
        assert cmd[0] == "stop", cmd
        # Every host's picture against the API, until equal (or 30 s).
        t_stop, equal, diffs = time.time(), {}, {}
        while time.time() < t_stop + 30 and len(equal) < len(views):
            for h, v in views.items():
                if h in equal:
                    continue
                try:
                    api = await v.fetch()
                except Exception as exc:
                    diffs[h] = f"API: {exc!r}"
                    continue
                d = picture_diff(picture_of_model(v.model), picture_of_api(api))
                if d:
                    diffs[h] = d
                else:
                    equal[h] = time.time() - t_stop
                    diffs.pop(h, None)
            await asyncio.sleep(0.5)
        state["closing"] = True
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        for v in views.values():
            counts["resyncs"] += v.counts.get("resyncs", 0)
            counts["gaps"] += v.counts.get("gaps", 0)
            errors += v.errors
    conn.send(("result", {"rx": rx, "counts": dict(counts), "errors": errors[:10], "equal": equal, "diffs": diffs}))


def ws_entry(base: str, cookie: str, hosts: list[str], conn) -> None:
    try:
        asyncio.run(_ws_main(base, cookie, hosts, conn))
    except BaseException as exc:  # the parent must not wait forever
        import traceback

        conn.send(("error", "".join(traceback.format_exception(exc))))


# --- load makers ------------------------------------------------------------------------------------------

class Probes(threading.Thread):
    """Every PROBE_EVERY seconds, on each of `hosts` at once: a volume created and the previous
    one removed (a small change on hosts that otherwise idle)."""

    def __init__(self, clients: dict, hosts: list[str], tag: str):
        super().__init__(daemon=True, name=f"probes-{tag}")
        self.clients, self.hosts, self.tag = clients, hosts, tag
        self.made: list[tuple[str, str]] = []  # (host, volume name)
        self.calls: list[float] = []  # how long each create call took (the engine's own pace)
        self.errors: list[str] = []
        self.halt = threading.Event()

    def run(self):
        prev: dict[str, str] = {}
        t0 = time.time()
        i = 0
        with ThreadPoolExecutor(len(self.hosts)) as pool:
            while not self.halt.is_set():
                self.halt.wait(max(0.0, t0 + i * PROBE_EVERY - time.time()))
                if self.halt.is_set():
                    break

                def one(h, i=i):
                    name = f"{PREFIX}p-{self.tag}-{h}-{i}"
                    try:
                        t = time.perf_counter()
                        self.clients[h].volumes.create(name)
                        self.calls.append(time.perf_counter() - t)
                        self.made.append((h, name))
                        if h in prev:
                            self.clients[h].api.remove_volume(prev[h])
                        prev[h] = name
                    except Exception as exc:
                        self.errors.append(f"{h}: {exc}")

                list(pool.map(one, self.hosts))
                i += 1
            for h, name in prev.items():
                try:
                    self.clients[h].api.remove_volume(name)
                except Exception as exc:
                    self.errors.append(f"{h}: {exc}")


def restart_all(client, ids: list[str], threads: int, inflight: set) -> tuple[float, float, list[str]]:
    """Restart `ids` (in order, `threads` at a time; those being restarted are in `inflight`);
    (begin, end, errors)."""
    errors: list[str] = []

    def one(cid):
        inflight.add(cid)
        try:
            client.api.restart(cid, timeout=0)
        except Exception as exc:
            errors.append(f"{cid[:12]}: {exc}")
        finally:
            inflight.discard(cid)

    t0 = time.time()
    if threads == 1:
        for cid in ids:
            one(cid)
            time.sleep(0.5)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, ids))
    return t0, time.time(), errors


class EngineFloor(threading.Thread):
    """What the engine itself takes to answer the watcher's questions while containers restart:
    every 0.1 s an inspect of a container being restarted (the watcher inspects exactly those),
    every second the container list (the light poll's call)."""

    def __init__(self, url: str, inflight: set):
        import docker

        super().__init__(daemon=True, name="engine-floor")
        self.api = docker.APIClient(base_url=url, version="1.41", timeout=120)
        self.inflight = inflight
        self.inspect: list[float] = []
        self.listing: list[float] = []
        self.halt = threading.Event()

    def run(self):
        import random

        k = 0
        while not self.halt.wait(0.1):
            ids = list(self.inflight)
            try:
                if ids:
                    t = time.perf_counter()
                    self.api.inspect_container(random.choice(ids))
                    self.inspect.append(time.perf_counter() - t)
                if k % 10 == 0:
                    t = time.perf_counter()
                    self.api.containers(all=True)
                    self.listing.append(time.perf_counter() - t)
            except Exception:
                pass
            k += 1
        self.api.close()

    def report(self) -> str:
        return (f"engine floor meanwhile: inspect of a container being restarted {fmt(self.inspect)}; "
                f"container list {fmt(self.listing)}")


def cpu_census() -> tuple[float, dict[int, tuple[float, str, int]]]:
    """The machine's busy CPU seconds so far (/proc/stat), and per process its own CPU seconds
    (not its waited-for children's: a parent reaping a long-lived child would get the child's
    whole life), its command line and its parent."""
    tck = os.sysconf("SC_CLK_TCK")
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    busy = (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / tck  # user nice system irq softirq steal
    procs = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        procs[int(d.name)] = ((int(fields[11]) + int(fields[12])) / tck, cmd, int(fields[1]))
    return busy, procs


def cpu_split(before, after, wall: float, ours: dict[str, set[int]]) -> str:
    """Where the machine's CPU went between two censuses, as % of one core: our processes by
    role, the engines, everything else; what exited meanwhile (the restarted containers' shims
    and runc, other runs' short processes) only in the machine's total."""
    busy0, p0 = before
    busy1, p1 = after
    s0 = f"sandbox/{os.environ['DOCKERWEB_BENCH_ENGINE']}/"
    others_engines = f"sandbox/{os.environ['DOCKERWEB_BENCH_ENGINE']}-s"
    redis_port = os.environ.get("REDIS_URL", "").rsplit(":", 1)[-1].split("/")[0]
    s0_dockerd = {pid for pid, (_, cmd, _) in p1.items() if cmd.startswith("dockerd") and s0 in cmd}
    me = os.getpid()
    use: Counter = Counter()
    for pid, (cpu, cmd, ppid) in p1.items():
        d = cpu - p0[pid][0] if pid in p0 else cpu
        role = next((r for r, pids in ours.items() if pid in pids), None)
        if role is None:
            if s0 in cmd or ppid in s0_dockerd:
                role = f"engine {BURST_HOST} (dockerd, containerd, shims, proxies)"
            elif others_engines in cmd:
                role = "the other engines"
            elif redis_port and "redis-server" in cmd and redis_port in cmd:
                role = "Redis"
            elif pid == me or ppid == me:
                role = "this benchmark (restarts, probes, MONITOR, websocket client)"
            else:
                role = "other runs on the machine"
        use[role] += d
    total = busy1 - busy0
    parts = [f"{r} {100 * v / wall:.0f}%" for r, v in use.most_common()]
    parts.append(f"exited meanwhile / unattributed {100 * (total - sum(use.values())) / wall:.0f}%")
    return f"machine busy {100 * total / wall:.0f}% of {100 * (os.cpu_count() or 1)}%: " + ", ".join(parts)


# --- analysis -----------------------------------------------------------------------------------------------

def first_after(times, t):
    return next((x for x in sorted(times) if x > t), None)


def restart_latencies(host: str, ids: list[str], events: EngineEvents, noted: dict, seen: dict,
                      t_from: float, t_to: float) -> dict:
    """Per `die` and `start` event of the restarted containers within [t_from, t_to]:
    event → mirror written (the RPUSH after the write; for a start, the last one before the
    container's next die, so a write of the stopped state that lands late is not counted as the
    start's) and event → the client received a patch touching the container (its node, ports or
    edges; for a start, not one showing it stopped). When the watcher sees only the final state
    (its inspect waited for the engine to finish the restart) the die's and the start's change
    are one write and one patch."""
    r = {"die_mirror": [], "start_mirror": [], "die_patch": [], "start_patch": [], "events": 0, "unmatched": Counter()}
    for cid in ids:
        evs = sorted((t, a) for t, a in events.of(cid) if t_from <= t <= t_to)
        marks = sorted(noted.get((host, "container", cid), ()))
        got = sorted(seen.get((host, cid), ()))
        dies = [t for t, a in evs if a == "die"]
        for t, a in evs:
            if a == "die":
                r["events"] += 1
                m = first_after(marks, t)
                p = next((x for x, _ in got if x > t), None)
                (r["die_mirror"].append(m - t) if m else r["unmatched"].update(["die→mirror"]))
                (r["die_patch"].append(p - t) if p else r["unmatched"].update(["die→patch"]))
            elif a == "start":
                r["events"] += 1
                end = next((d for d in dies if d > t), t_to)
                within = [x for x in marks if t < x < end]
                p = next((x for x, st in got if t < x < end and st in (None, "running")), None)
                (r["start_mirror"].append(within[-1] - t) if within else r["unmatched"].update(["start→mirror"]))
                (r["start_patch"].append(p - t) if p else r["unmatched"].update(["start→patch"]))
    return r


def probe_latencies(made: list[tuple[str, str]], events: dict, noted: dict, seen: dict) -> dict:
    """Per probe volume: create and destroy event → mirror and → patch, by host."""
    r: dict = defaultdict(lambda: {"mirror": [], "patch": [], "missing": 0})
    for h, name in made:
        evs = events[h].of(name)
        for action, op in (("create", "add"), ("destroy", "remove")):
            t = next((t for t, a in evs if a == action), None)
            if t is None:
                continue
            m = first_after(noted.get((h, "volume", name), ()), t)
            p = next((x for x, o in sorted(seen.get((h, f"vol:{name}"), ())) if x > t and o == op), None)
            if m is not None:
                r[h]["mirror"].append(m - t)
            if p is not None:
                r[h]["patch"].append(p - t)
            else:
                r[h]["missing"] += 1
    return r


def pooled(by_host: dict, hosts, key: str) -> list[float]:
    return [x for h in hosts for x in by_host.get(h, {}).get(key, [])]


def fmt(xs: list[float]) -> str:
    if not xs:
        return "— (no samples)"
    return f"p50 {ms(pct(xs, 50))}, p95 {ms(pct(xs, 95))}, max {ms(max(xs))} (n={len(xs)})"


# --- processes --------------------------------------------------------------------------------------------

def status_mb(pid: int) -> tuple[float, float] | None:
    """(VmRSS, VmHWM) in MB, or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    vals = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.M))
    return int(vals.get("VmRSS", 0)) / 1024, int(vals.get("VmHWM", 0)) / 1024


def process_list(web, worker, watchers: dict) -> list[tuple[str, int]]:
    rows = [("web tier: gunicorn master", web.pid)]
    rows += [(f"web tier: uvicorn worker {k + 1}", pid) for k, pid in enumerate(sorted(web.children()))]
    for label, w in watchers.items():
        rows.append((f"watcher {label}", w.pid))
    if worker is not None:
        rows.append(("celery worker (main)", worker.pid))
        rows += [(f"celery worker: pool process {k + 1}", pid) for k, pid in enumerate(sorted(worker.children()))]
    return rows


def memory_line(rows: list[tuple[str, int]]) -> dict[int, float]:
    snap = {}
    for _, pid in rows:
        v = status_mb(pid)
        if v is not None:
            snap[pid] = v[0]
    return snap


def chromium_cpu() -> tuple[float, float]:
    """CPU seconds used so far by the Chromium processes under this one: (all, renderers)."""
    total, renderers, stack = 0.0, 0.0, [os.getpid()]
    while stack:
        pid = stack.pop()
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                stack += [int(p) for p in (task / "children").read_text().split()]
            if "chrom" in Path(f"/proc/{pid}/comm").read_text():
                cpu = cpu_seconds(pid) or 0.0
                total += cpu
                if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    renderers += cpu
        except OSError:
            continue
    return total, renderers


def profile_page(page, url: str, top: int = 12) -> list[str]:
    """The page's JS while it loads (CDP sampling profiler): top functions by self time, and
    the page's own functions (topology.js) by inclusive time."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 200})
    cdp.send("Profiler.start")
    page.goto(url)
    page.wait_for_function(PAINTED, timeout=300000, polling=50)
    prof = cdp.send("Profiler.stop")["profile"]
    nodes = {n["id"]: n for n in prof["nodes"]}
    parent = {c: n["id"] for n in prof["nodes"] for c in n.get("children", ())}

    def name(n):
        cf = n["callFrame"]  # lineNumber is 0-based
        return f"{cf['functionName'] or '(anon)'} {cf['url'].rsplit('/', 1)[-1]}:{cf['lineNumber'] + 1}"

    own, incl = Counter(), Counter()
    for sid, dt in zip(prof["samples"], prof["timeDeltas"]):
        own[name(nodes[sid])] += dt / 1000
        seen, i = set(), sid
        while i is not None:
            nm = name(nodes[i])
            if "topology.js" in nm and nm not in seen:
                seen.add(nm)
                incl[nm] += dt / 1000
            i = parent.get(i)
    return ["    self:      " + "; ".join(f"{v:.0f} ms {k}" for k, v in own.most_common(top)),
            "    inclusive: " + "; ".join(f"{v:.0f} ms {k}" for k, v in incl.most_common(top))]


def watcher_name_of(proc, timeout: float = 60) -> str:
    """The lease holder name a watch process logs when it starts."""
    deadline = time.monotonic() + timeout
    pat = re.compile(r"watcher (\S+): sharing hosts")
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.log_tail()}")
        names = [m.group(1) for m in pat.finditer(proc.log_path.read_text(errors="replace"))
                 if f":{proc.pid}:" in m.group(1)]
        if names:
            return names[-1]
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name} did not start:\n{proc.log_tail()}")


# --- the parts ----------------------------------------------------------------------------------------------

def reconcile_part(urls: dict) -> dict:
    import docker

    from bench_reconcile import bare_fetch, mirror_clear
    from dockerweb.inventory.models import Container, Host, Network, Volume
    from dockerweb.inventory.services import host_reconcile, host_register

    hosts = {h: host_register(name=h, url=urls[h]) for h in HOSTS}
    apis = {h: docker.APIClient(base_url=urls[h], version="1.41", timeout=120) for h in HOSTS}
    for h in HOSTS:
        bare_fetch(apis[h])  # warm the engines' caches once for both sides

    def bare():
        t = time.perf_counter()
        for h in HOSTS:
            bare_fetch(apis[h])
        return time.perf_counter() - t

    split = {"cold": [], "warm": []}

    def reconcile_all(kind):
        if kind == "cold":
            for h in HOSTS:
                mirror_clear(hosts[h])
        t = time.perf_counter()
        eng = mir = 0.0
        for h in HOSTS:
            res = host_reconcile(host=hosts[h])
            eng += res.seconds.get("engine", 0)
            mir += res.seconds.get("mirror", 0)
        split[kind].append((eng, mir))
        return time.perf_counter() - t

    base = statistics.median(bare() for _ in range(RUNS))
    cold = statistics.median(reconcile_all("cold") for _ in range(RUNS))
    warm = statistics.median(reconcile_all("warm") for _ in range(RUNS))
    n = {k: m.objects.filter(host__name__in=HOSTS).count() for k, m in
         (("containers", Container), ("networks", Network), ("volumes", Volume))}
    for a in apis.values():
        a.close()
    out(f"\n=== 1. FULL RECONCILE of all {len(HOSTS)} hosts, one after another ({n['containers']} containers, "
        f"{n['networks']} networks, {n['volumes']} volumes; median of {RUNS}; {load()})")
    out(f"  bare docker SDK list+inspect of the same objects (baseline): {base * 1000:8.0f} ms")
    for kind, t in (("cold (empty mirror)", cold), ("warm (mirror equal)", warm)):
        k = kind.split()[0]
        eng = statistics.median(e for e, _ in split[k]) * 1000
        mir = statistics.median(m for _, m in split[k]) * 1000
        out(f"  host_reconcile × {len(HOSTS)}, {kind}: {t * 1000:8.0f} ms = {t / base:.2f}× the baseline "
            f"(asking the engines {eng:.0f} ms, comparing and writing the mirror {mir:.0f} ms)")
    # The watchers take the hosts over (and reconcile them) themselves.
    Host.objects.filter(name__in=HOSTS).delete()
    return {"base": base, "cold": cold, "warm": warm}


def share_hosts(urls: dict, watchers: dict, names: dict) -> dict:
    """Register the hosts one at a time (each once the previous lease was taken) and wait until
    every host is followed; returns host → (watcher label, lease taken → following, s)."""
    from dockerweb.inventory.leases import lease_holder
    from dockerweb.inventory.models import Host
    from dockerweb.inventory.services import host_register
    from tests.support import procs

    label_of = {v: k for k, v in names.items()}
    taken: dict[str, tuple[str, float]] = {}
    for h in HOSTS:
        host_register(name=h, url=urls[h])
        holder = procs.wait_for(lambda: lease_holder(h), timeout=30, interval=0.005, message=f"a watcher to take {h}")
        taken[h] = (holder, time.monotonic())
    followed: dict[str, float] = {}
    deadline = time.monotonic() + 300
    while len(followed) < len(HOSTS) and time.monotonic() < deadline:
        for row in Host.objects.filter(name__in=HOSTS):
            if row.name not in followed and row.watching_since and row.watcher == taken[row.name][0]:
                followed[row.name] = time.monotonic()
        time.sleep(0.05)
    out(f"\n=== which watcher follows which host (leases in Redis; {load()})")
    for label, name in names.items():
        mine = [h for h in HOSTS if taken[h][0] == name]
        out(f"  watcher {label} ({name}, pid {watchers[label].pid}): {', '.join(mine) or 'none'}")
    out("  lease taken → following (the watcher's own subscribe, light-poll look and full reconcile): " + ", ".join(
        f"{h} {followed[h] - taken[h][1]:.1f} s" if h in followed else f"{h} NOT FOLLOWED" for h in HOSTS))
    holders = {h: lease_holder(h) for h in HOSTS}
    ok = all(holders[h] in label_of and h in followed for h in HOSTS)
    return {"owner": {h: label_of.get(taken[h][0], "?") for h in HOSTS}, "ok": ok,
            "per_host": {h: followed.get(h, float("nan")) - taken[h][1] for h in HOSTS}}


def render_part(base: str, cookie_name: str, cookie_value: str) -> dict:
    import requests
    from playwright.sync_api import sync_playwright

    expected = N_ENGINES * N_CONTAINERS

    def fetch(h):
        r = requests.get(f"{base}/api/hosts/{h}/topology/", cookies={cookie_name: cookie_value},
                         headers={"Accept": "application/json"}, timeout=120)
        r.raise_for_status()
        return r.json()

    api_s = []
    for _ in range(RUNS):
        t = time.perf_counter()
        with ThreadPoolExecutor(len(HOSTS)) as pool:
            answers = list(pool.map(fetch, HOSTS))
        api_s.append(time.perf_counter() - t)
    n_nodes = sum(len(a["nodes"]) for a in answers)
    n_edges = sum(len(a["edges"]) for a in answers)
    n_ctr = sum(1 for a in answers for n in a["nodes"] if n["id"].startswith("ctr:"))
    renders, fetches, builds, paints, navs, shown, cpus, rcpus, perf = [], [], [], [], [], [], [], [], []
    profile: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                          "--disable-background-networking", "--disable-component-update",
                                          "--disable-sync"])
        try:
            ctx = browser.new_context(viewport={"width": 1440, "height": 900})
            ctx.add_cookies([{"name": cookie_name, "value": cookie_value, "url": base}])
            ctx.add_init_script(TIMING_JS)
            ctx.add_init_script(ALL_HOSTS_JS)
            first = PAINTED
            url = f"{base}/topology/?host={BURST_HOST}&dwall=1"
            for _ in range(RUNS):
                page = ctx.new_page()
                cdp = ctx.new_cdp_session(page)
                cdp.send("Performance.enable")
                c0 = chromium_cpu()
                page.goto(url)
                page.wait_for_function(first, timeout=300000, polling=50)
                c1 = chromium_cpu()
                cpus.append(c1[0] - c0[0])
                rcpus.append(c1[1] - c0[1])
                perf.append({x["name"]: x["value"] for x in cdp.send("Performance.getMetrics")["metrics"]})
                m = page.evaluate("window.__topoTiming")
                renders.append(m["painted"] - m["script"])
                fetches.append(m["fetched"] - m["script"])
                builds.append(m["loaded"] - m["fetched"])
                paints.append(m["painted"] - m["loaded"])
                navs.append(m["painted"])
                shown.append(page.evaluate("window.dwTopologyPage.cy.nodes('.container').length"))
                if len(renders) < RUNS:
                    page.close()
            if os.environ.get("BENCH_SCALE_PROFILE"):
                profile = profile_page(page, url)
            page.screenshot(path=str(Path(os.environ.get("DOCKERWEB_DATA_DIR", ROOT / "var")) / "topology-scale.png"))
            # The user's way: the page on one host, then "All hosts" in the select.
            page.goto(f"{base}/topology/?host={BURST_HOST}")
            page.wait_for_function(first, timeout=300000, polling=50)
            switch = page.evaluate(SWITCH_JS, expected)
        finally:
            browser.close()
    med = statistics.median(renders) / 1000
    out(f"\n=== 3. TOPOLOGY PAGE with all {len(HOSTS)} hosts ({n_ctr} containers; {n_nodes} nodes, {n_edges} edges "
        f"from the API; median of {RUNS} loads; {load()})")
    out(f"  first render (page start → first paint): median {med * 1000:.0f} ms (runs: "
        f"{', '.join(f'{x:.0f}' for x in renders)} ms; containers shown: {', '.join(map(str, shown))} of {expected}) "
        f"— target ≤ {RENDER_TARGET * 1000:.0f} ms")
    out(f"    split: the {len(HOSTS)} API answers arrived {statistics.median(fetches):.0f} ms after the scripts ran, "
        f"building the graph took {statistics.median(builds):.0f} ms, the first paint {statistics.median(paints):.0f} ms; "
        f"from navigation start {statistics.median(navs):.0f} ms")
    pm = {k: statistics.median(p.get(k, 0.0) for p in perf) * 1000
          for k in ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")}
    out(f"    Chromium CPU during a load: median {statistics.median(cpus) * 1000:.0f} ms (all its processes), "
        f"{statistics.median(rcpus) * 1000:.0f} ms (the page's renderer process); the "
        f"page's main thread: tasks {pm['TaskDuration']:.0f} ms, of which script {pm['ScriptDuration']:.0f} ms, "
        f"layout {pm['LayoutDuration']:.0f} ms, style {pm['RecalcStyleDuration']:.0f} ms")
    out(f"  baseline: the {len(HOSTS)} API answers fetched at once from Python: median "
        f"{statistics.median(api_s) * 1000:.0f} ms → render / API = {med / statistics.median(api_s):.1f}×")
    out(f"  the user's way (page on {BURST_HOST}, then All hosts chosen): {switch:.0f} ms until painted")
    if profile:
        out("  the page's JS during one more load (CDP profiler, 0.2 ms samples):")
        for line in profile:
            out(line)
    return {"render": med, "shown": min(shown), "expected": expected}


def latency_part(clients, urls, ids, base, cookie, web, worker, watchers, owner, results) -> None:
    others = [h for h in HOSTS if h != BURST_HOST]
    events = {h: EngineEvents(h, clients[h]) for h in HOSTS}
    for e in events.values():
        e.start()
    monitor = RedisMonitor()
    monitor.start()
    monitor.ready.wait(10)
    ctx = mp.get_context("spawn")
    conn, child = ctx.Pipe()
    wsp = ctx.Process(target=ws_entry, args=(base, cookie, HOSTS, child), daemon=True)
    wsp.start()
    ws = None

    def ours() -> dict[str, set[int]]:
        return {"watchers": {w.pid for w in watchers.values()}, "web tier": {web.pid, *web.children()},
                "celery worker": {worker.pid, *worker.children()} if worker else set(),
                "this benchmark (restarts, probes, MONITOR, websocket client)": {os.getpid(), wsp.pid}}

    try:
        _expect(conn, "websocket client's start", 120)
        time.sleep(1.0)
        # IDLE
        idle = Probes(clients, others, "idle")
        census0, t = cpu_census(), time.time()
        idle.start()
        time.sleep(IDLE_SECONDS)
        idle.halt.set()
        idle.join()
        idle_cpu = cpu_split(census0, cpu_census(), time.time() - t, ours())
        load_idle = load()
        time.sleep(GRACE)
        # QUIET: restarts one at a time on the burst host
        quiet_ids = ids[BURST_HOST][:N_QUIET]
        inflight: set = set()
        floor_q = EngineFloor(urls[BURST_HOST], inflight)
        floor_q.start()
        q0, q1, q_err = restart_all(clients[BURST_HOST], quiet_ids, 1, inflight)
        floor_q.halt.set()
        time.sleep(GRACE)
        # BURST, with the probes on the others going on
        pids = {f"web-{k + 1}": pid for k, pid in enumerate(sorted(web.children()))}
        pids |= {f"watcher-{label}": w.pid for label, w in watchers.items()}
        cpu0 = {name: cpu_seconds(pid) or 0 for name, pid in pids.items()}
        if os.environ.get("BENCH_SCALE_PROFILE"):
            os.environ["BENCH_LOAD_PROFILE"] = "1"
        profiles = Profiles("scale-burst", pids, 40)
        during = Probes(clients, others, "burst")
        floor_b = EngineFloor(urls[BURST_HOST], inflight)
        census0 = cpu_census()
        during.start()
        floor_b.start()
        burst_ids = (ids[BURST_HOST] * ((N_BURST + len(ids[BURST_HOST]) - 1) // len(ids[BURST_HOST])))[:N_BURST]
        b0, b1, b_err = restart_all(clients[BURST_HOST], burst_ids, BURST_THREADS, inflight)
        floor_b.halt.set()
        during.halt.set()
        during.join()
        burst_cpu = cpu_split(census0, cpu_census(), time.time() - b0, ours())
        load_burst = load()
        cpu = {name: (cpu_seconds(pid) or 0) - cpu0[name] for name, pid in pids.items()}
        time.sleep(GRACE)
        conn.send(("stop",))
        ws = _expect(conn, "websocket results", 120)
    finally:
        monitor.close()
        for e in events.values():
            e.close()
        wsp.join(10)
        if wsp.is_alive():
            wsp.terminate()
    seen: dict[tuple, list] = defaultdict(list)
    for t, h, key, info in ws["rx"]:
        seen[(h, key)].append((t, info))
    noted = monitor.noted
    p_idle = probe_latencies(idle.made, events, noted, seen)
    p_burst = probe_latencies(during.made, events, noted, seen)
    quiet = restart_latencies(BURST_HOST, quiet_ids, events[BURST_HOST], noted, seen, q0, q1 + GRACE)
    burst = restart_latencies(BURST_HOST, ids[BURST_HOST], events[BURST_HOST], noted, seen, b0, b1 + GRACE)
    wall = b1 - b0

    out(f"\n=== 4. LATENCY, one websocket client subscribed to all {len(HOSTS)} hosts "
        f"(times from the engine's own event time; Redis MONITOR on)")
    out(f"  IDLE ({IDLE_SECONDS:.0f} s; a volume created and the previous removed every {PROBE_EVERY:.0f} s on each of "
        f"{', '.join(others)}; {load_idle}):")
    out(f"    event → mirror: {fmt(pooled(p_idle, others, 'mirror'))}")
    out(f"    event → patch on the socket: {fmt(pooled(p_idle, others, 'patch'))}")
    out(f"    engine floor: the SDK's volume create call {fmt(idle.calls)}")
    out(f"    CPU: {idle_cpu}")
    out(f"  QUIET ({len(quiet_ids)} restarts on {BURST_HOST}, one at a time; the burst's baseline):")
    for k in ("die", "start"):
        out(f"    {k:5} → mirror: {fmt(quiet[f'{k}_mirror'])}; → patch: {fmt(quiet[f'{k}_patch'])}")
    out(f"    {floor_q.report()}")
    burst_mirror = burst["die_mirror"] + burst["start_mirror"]
    burst_patch = burst["die_patch"] + burst["start_patch"]
    quiet_mirror = quiet["die_mirror"] + quiet["start_mirror"]
    quiet_patch = quiet["die_patch"] + quiet["start_patch"]
    out(f"  BURST ({len(burst_ids)} restarts on {BURST_HOST}, {BURST_THREADS} at a time: {wall:.1f} s, "
        f"{len(burst_ids) / wall:.1f} restarts/s; {burst['events']} die/start events; errors {len(b_err)}; {load_burst}):")
    out(f"    event → mirror:  {fmt(burst_mirror)}  (quiet: p95 {ms(pct(quiet_mirror, 95))})")
    out(f"    event → patch:   {fmt(burst_patch)}  (quiet: p95 {ms(pct(quiet_patch, 95))})")
    for k in ("die", "start"):
        out(f"      {k:5} → mirror: {fmt(burst[f'{k}_mirror'])}; → patch: {fmt(burst[f'{k}_patch'])}")
    out(f"    {floor_b.report()}")
    if burst["unmatched"]:
        out(f"      not matched: {dict(burst['unmatched'])} (a change folded into a later one, or never seen)")
    b_seq = [t for t in monitor.numbered.get(BURST_HOST, []) if b0 <= t <= b1 + GRACE]
    out(f"    patches of {BURST_HOST} during the burst: {len(b_seq)} numbered by its producer")
    out(f"  OTHER HOSTS meanwhile (the same probes as IDLE, {len(during.made)} volumes):")
    out(f"    event → mirror: {fmt(pooled(p_burst, others, 'mirror'))}  (idle: p95 {ms(pct(pooled(p_idle, others, 'mirror'), 95))})")
    out(f"    event → patch:  {fmt(pooled(p_burst, others, 'patch'))}  (idle: p95 {ms(pct(pooled(p_idle, others, 'patch'), 95))})")
    out(f"    engine floor: the SDK's volume create call {fmt(during.calls)}  (idle: p95 {ms(pct(idle.calls, 95))})")
    same = [h for h in others if owner.get(h) == owner.get(BURST_HOST)]
    other_w = [h for h in others if h not in same]
    for label, group in ((f"on {BURST_HOST}'s watcher {owner.get(BURST_HOST)} ({', '.join(same) or 'none'})", same),
                         (f"on the other watcher ({', '.join(other_w) or 'none'})", other_w)):
        if group:
            out(f"    {label}: event → patch burst {fmt(pooled(p_burst, group, 'patch'))}; idle p95 "
                f"{ms(pct(pooled(p_idle, group, 'patch'), 95))}; event → mirror burst p95 "
                f"{ms(pct(pooled(p_burst, group, 'mirror'), 95))}, idle p95 {ms(pct(pooled(p_idle, group, 'mirror'), 95))}")
    missing = sum(v["missing"] for v in list(p_idle.values()) + list(p_burst.values()))
    errs = idle.errors + during.errors + q_err + b_err
    out(f"  probe changes with no patch of their own: {missing} (a volume created and removed before its watcher "
        f"looked: nothing to show); SDK errors: {len(errs)}" + (f" ({errs[:3]})" if errs else ""))
    out(f"  CPU during the burst ({wall:.1f} s): " + ", ".join(f"{n} {100 * c / wall:.0f}%" for n, c in cpu.items()))
    out(f"    {burst_cpu}")
    c = ws["counts"]
    per_host = ", ".join(f"{h} {c.get('patches ' + h, 0)}" for h in HOSTS)
    out(f"  the client: {c.get('patches', 0)} patches ({per_host}), "
        f"{c.get('connects', 0)} connect(s), resyncs {c.get('resyncs', 0)} (told {c.get('server_resyncs', 0)}, "
        f"gaps {c.get('gaps', 0)}); picture equal to the API's: "
        + ", ".join(f"{h} {ws['equal'][h]:.1f} s" if h in ws["equal"] else f"{h} DIFFERS ({ws['diffs'].get(h)})"
                    for h in HOSTS))
    for e in ws["errors"]:
        out(f"    error: {e}")
    for line in profiles.report():
        out(line)
    idle_p95 = pct(pooled(p_idle, others, "patch"), 95)
    burst_p95 = pct(pooled(p_burst, others, "patch"), 95)
    results["latency"] = {"idle": idle_p95, "burst": burst_p95, "equal": len(ws["equal"]) == len(HOSTS),
                          "burst_mirror": pct(burst_mirror, 95), "burst_patch": pct(burst_patch, 95)}


def takeover_part(watchers: dict, names: dict, owner: dict, results: dict) -> None:
    from dockerweb.inventory.leases import lease_holder
    from dockerweb.inventory.models import Host

    count = Counter(owner.values())
    victim = max(watchers, key=lambda k: count.get(k, 0))
    survivor = next(k for k in watchers if k != victim)
    taken = [h for h in HOSTS if owner.get(h) == victim]
    os.kill(watchers[victim].pid, signal.SIGKILL)
    t0 = time.monotonic()
    back: dict[str, float] = {}
    leased: dict[str, float] = {}
    while len(back) < len(taken) and time.monotonic() < t0 + 60:
        rows = {r.name: r for r in Host.objects.filter(name__in=taken)}
        for h in taken:
            if lease_holder(h) == names[survivor]:
                leased.setdefault(h, time.monotonic() - t0)
                if h not in back and rows[h].watcher == names[survivor] and rows[h].watching_since:
                    back[h] = time.monotonic() - t0
        time.sleep(0.05)
    worst = max(back.values()) if len(back) == len(taken) and back else float("inf")
    watchers[victim].restart()
    names[victim] = watcher_name_of(watchers[victim])
    time.sleep(10)
    again = [h for h in HOSTS if lease_holder(h) == names[victim]]
    out(f"\n=== 5. TAKEOVER: kill -9 of watcher {victim} (followed {', '.join(taken)}; lease "
        f"{os.environ.get('DOCKERWEB_WATCHER_LEASE_SECONDS', '6')} s)")
    out("  followed again by watcher " + survivor + ": " + ", ".join(
        f"{h} after {back[h]:.1f} s (lease taken after {leased[h]:.1f} s)" if h in back else f"{h} NOT within 60 s"
        for h in taken) + f" — target ≤ {TAKEOVER_TARGET:.0f} s; {load()}")
    out(f"  watcher {victim} started again: follows {len(again)} host(s) 10 s later "
        f"({', '.join(again) or 'none'}) — the leases do not rebalance")
    results["takeover"] = worst


def memory_report(snaps: list[tuple[str, dict]], rows: list[tuple[str, int]], hosts_of: dict) -> None:
    out("\n=== 2. MEMORY (RSS, MB) of each process")
    out("  " + f"{'process':40}" + "".join(f"{label:>22}" for label, _ in snaps) + f"{'peak (VmHWM)':>16}")
    for label, pid in rows:
        now = status_mb(pid)
        extra = f" ({hosts_of[label]} hosts)" if label in hosts_of else ""
        out("  " + f"{label + extra + f' [{pid}]':40}" + "".join(
            f"{snap.get(pid, float('nan')):>22.0f}" for _, snap in snaps) + f"{(now[1] if now else float('nan')):>16.0f}")


def print_targets(results: dict) -> None:
    out("\n=== targets (issue 14)")
    rows = []
    if "share" in results:
        rows.append(("every host followed by exactly one watcher (its lease holder)",
                     ", ".join(f"{h}→{w}" for h, w in results["share"]["owner"].items()), results["share"]["ok"]))
    lat = results.get("latency")
    if lat:
        ratio = lat["burst"] / lat["idle"] if lat["idle"] else float("inf")
        rows.append((f"other hosts' event → patch p95 during the burst within {OTHERS_TARGET:.0f}× idle",
                     f"{ms(lat['burst'])} vs {ms(lat['idle'])} idle = {ratio:.2f}×", ratio <= OTHERS_TARGET))
        rows.append(("the client's picture of every host equals the API's after the burst", "yes" if lat["equal"] else "no",
                     lat["equal"]))
    rend = results.get("render")
    if rend:
        rows.append((f"topology first render with all {rend['expected']} containers ≤ {RENDER_TARGET * 1000:.0f} ms",
                     f"{rend['render'] * 1000:.0f} ms, {rend['shown']} containers shown",
                     rend["render"] <= RENDER_TARGET and rend["shown"] == rend["expected"]))
    if "takeover" in results:
        rows.append((f"hosts of a killed watcher followed again ≤ {TAKEOVER_TARGET:.0f} s",
                     f"{results['takeover']:.1f} s", results["takeover"] <= TAKEOVER_TARGET))
    for what, value, ok in rows:
        out(f"  {'PASS' if ok else 'FAIL'}  {what}: {value}")
    out(f"  note: a shared 2-core machine ({load()} now); other runs share it, so every figure is noisy")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerweb.settings")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop in this thread
    import django

    django.setup()
    import docker
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from dockerweb.core.services import user_set_role
    from dockerweb.inventory.models import Host
    from tests.support import procs

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    engines = Engines()
    clients: dict = {}
    started: list = []
    results: dict = {}
    try:
        t = time.monotonic()
        engines.start()
        out(f"bench_scale: {len(HOSTS)} engines ({', '.join(f'{h}={u}' for h, u in engines.urls.items())}) "
            f"up in {time.monotonic() - t:.0f} s; {load()}")
        clients = {h: docker.DockerClient(base_url=engines.urls[h], version="1.41", timeout=300, max_pool_size=16)
                   for h in HOSTS}
        Host.objects.filter(name__in=HOSTS).delete()
        with ThreadPoolExecutor(len(HOSTS)) as pool:
            list(pool.map(lambda h: engine_cleanup(clients[h]), HOSTS))  # leftovers of an interrupted run
        t = time.monotonic()
        ids = populate(clients)
        out(f"populated in {time.monotonic() - t:.0f} s: per engine {N_CONTAINERS} containers "
            f"({min(N_RUNNING, N_CONTAINERS)} running, every tenth publishing a port; on {BURST_HOST} all running and "
            f"publishing one), {N_NETWORKS} networks, {N_VOLUMES} volumes; {load()}")

        if "reconcile" in PARTS:
            results["reconcile"] = reconcile_part(engines.urls)
        Host.objects.filter(name__in=HOSTS).delete()

        User = get_user_model()
        user = User.objects.filter(username="bench-scale").first() or User.objects.create_user(
            "bench-scale", password=os.urandom(16).hex())
        user_set_role(user=user, role="viewer")
        sessions = []
        for _ in range(2):  # the websocket client's, the browser's
            c = Client()
            c.force_login(user)
            sessions.append(c.cookies[settings.SESSION_COOKIE_NAME].value)

        watchers = {"A": procs.start_watcher("scale-watcher-A"), "B": procs.start_watcher("scale-watcher-B")}
        started += list(watchers.values())
        n_web = os.cpu_count() or 1
        web, base = procs.start_asgi("scale-web", server="web", workers=n_web)
        started.append(web)
        procs.wait_for(lambda: len(web.children()) >= n_web, timeout=60, message="every web worker")
        worker = procs.start_worker("scale-worker")
        started.append(worker)
        names = {k: watcher_name_of(w) for k, w in watchers.items()}
        share = share_hosts(engines.urls, watchers, names)
        results["share"] = share
        owner = share["owner"]
        rows = process_list(web, worker, watchers)
        hosts_of = {f"watcher {k}": sum(1 for v in owner.values() if v == k) for k in watchers}
        time.sleep(3)
        snaps = [("following, settled", memory_line(rows))]

        if "render" in PARTS:
            results["render"] = render_part(base, settings.SESSION_COOKIE_NAME, sessions[1])
            snaps.append(("after the renders", memory_line(rows)))
        if "latency" in PARTS:
            latency_part(clients, engines.urls, ids, base, f"{settings.SESSION_COOKIE_NAME}={sessions[0]}", web,
                         worker, watchers, owner, results)
            snaps.append(("after the burst", memory_line(rows)))
        memory_report(snaps, rows, hosts_of)
        if "takeover" in PARTS:
            takeover_part(watchers, names, owner, results)
        print_targets(results)
    finally:
        def step(what, fn):
            try:
                fn()
            except BaseException as exc:  # every other step still runs
                out(f"  cleanup, {what}: {exc!r}")

        for p in started:
            step(f"stopping {p.name}", p.stop)
        step("the hosts", lambda: Host.objects.filter(name__in=HOSTS).delete())
        with ThreadPoolExecutor(max(1, len(clients))) as pool:
            list(pool.map(lambda c: step("an engine's objects", lambda: engine_cleanup(c)), clients.values()))
        for c in clients.values():
            step("a client", c.close)
        step("the engines", engines.stop)
        out("cleaned up: containers, networks and volumes removed; engines " +
            ", ".join(engines.sandboxes.values()) + " stopped (the first one is stopped by make bench)")


if __name__ == "__main__":
    main()
