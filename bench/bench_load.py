"""Benchmark of the live picture under load and of the web tier (run by
`make bench ARGS=bench/bench_load.py`, which starts a private engine and Redis and sets
DOCKER_HOST). Real `manage.py watch`, real web servers, real HTTP and websocket clients.

LOAD, run twice in the same run: against ONE daphne process (the baseline) and against the
production web tier (`scripts/web.sh`: uvicorn workers under gunicorn, DOCKERWEB_WEB_WORKERS =
the core count). For BENCH_LOAD_SECONDS (60):
- 50 HTTP clients (one asyncio process, keep-alive connections, a token) GET the networks,
  containers, volumes and topology of host `local` in turn, each as soon as its last answer came;
- 20 websocket clients (another process) subscribed to `local` on /ws/topology/ (a session
  cookie each, same-origin `Origin`), each keeping the graph as `static/js/topology.js` does:
  the API's snapshot, then patches applied in `seq` order, a refetch on `topology.resync`, on a
  gap, or when the socket says it is further than the snapshot (patches held meanwhile and only
  later ones applied), reconnecting with the page's backoff;
- meanwhile 50 containers created and then removed through the docker SDK (created, not
  started: the engine's own work stays small on a 2-core machine).
Printed: requests/s, p50/p95/p99, errors; per websocket client the adds and removes it received,
its resyncs, the lag from each engine change (the event's own time) to the client's picture,
when its picture equalled the API's after the churn ended (node and edge ids and data), and
whether its final picture equals the API's.

QUIET (production tier, nothing else running): a container created and the previous one removed
every 100 ms, 50 samples: SDK call start → patch on the socket, beside the engine's own floor,
SDK call start → event on a `docker events` stream opened by this process.

Where the time goes is printed too: a member of the host's channel-layer group in the clients'
process tells when each patch was published, splitting the lag into the producer's part (engine
change → published) and the web tier's (published → picture); in the quiet part Redis's MONITOR
splits it further (watcher: event → change noted; producer: noted → patch numbered; group send).
BENCH_LOAD_PROFILE=1 samples the web server's processes and the watcher with py-spy (not in
requirements.txt: `pip install py-spy`) and prints what dominates. BENCH_LOAD_PARTS (daphne,
web, quiet) runs some parts only.

Targets (issue 16) are checked on the production tier and printed PASS/FAIL. Everything it
creates is removed at the end; every process it starts is stopped by its pid."""
from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOST = "local"
IMAGE = "dockerweb-test/busybox:latest"
LABEL = {"dockerweb.bench": "load"}
PREFIX = "bench-load-"
ENDPOINTS = ("networks", "containers", "volumes", "topology")
N_HTTP = int(os.environ.get("BENCH_LOAD_HTTP", 50))
N_WS = int(os.environ.get("BENCH_LOAD_WS", 20))
N_CHURN = int(os.environ.get("BENCH_LOAD_CHURN", 50))
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", 60))
PARTS = os.environ.get("BENCH_LOAD_PARTS", "daphne,web,quiet").split(",")
N_QUIET, QUIET_EVERY = 50, 0.100

LAG_TARGET = 2.0        # s, p95 of engine change → client's picture
CONVERGE_TARGET = 5.0   # s after the churn ended
RATIO_TARGET = 3.0      # web tier / daphne requests per second
P95_TARGET = 0.500      # s
QUIET_TARGET = 0.050    # s, p95 of SDK call → patch
CONVERGE_LIMIT = 20.0   # s: how long clients are watched for convergence after the churn


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def ms(seconds) -> str:
    return "—" if seconds != seconds else f"{seconds * 1000:.0f} ms"


# --- the websocket clients (a process of their own) ---------------------------------------------

def picture_of_model(model: dict) -> tuple[dict, dict]:
    """What the page shows of its model: every node, and the edges whose both ends are shown
    (topology.js parks an edge in `pending` until both its ends are there)."""
    nodes = {i: el for i, (group, el) in model.items() if group == "node"}
    edges = {i: el for i, (group, el) in model.items()
             if group == "edge" and el.get("source") in nodes and el.get("target") in nodes}
    return nodes, edges


def picture_of_api(data: dict) -> tuple[dict, dict]:
    return {n["id"]: n for n in data["nodes"]}, {e["id"]: e for e in data["edges"]}


def picture_diff(mine: tuple[dict, dict], api: tuple[dict, dict]) -> str:
    """"" when both pictures hold the same node and edge ids with the same data; else a summary."""
    out = []
    for what, a, b in (("nodes", mine[0], api[0]), ("edges", mine[1], api[1])):
        extra, missing = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        changed = sorted(i for i in set(a) & set(b) if a[i] != b[i])
        for word, ids in (("extra", extra), ("missing", missing), ("different", changed)):
            if ids:
                out.append(f"{len(ids)} {what} {word} ({', '.join(i[:20] for i in ids[:3])}{'…' if len(ids) > 3 else ''})")
    return "; ".join(out)


class LiveClient:
    """One client of /ws/topology/ keeping one host's graph (`local`) exactly as topology.js's Page
    does (`showHosts`, `_connect`, `_onSubscribed`, `_loaded`, `_onPatch`, `_resync`), plus the
    times at which each container node entered and left its picture."""

    def __init__(self, n: int, base: str, cookie: str, session, host: str = HOST):
        self.n, self.base, self.cookie, self.http = n, base, cookie, session
        self.host = host  # the host whose graph it keeps (bench_scale: one per host, one socket)
        self.model: dict[str, tuple[str, dict]] = {}
        self.seq: int | None = None      # seq of the last patch the graph includes
        self.held: list | None = None    # patches received while the graph is being fetched
        self.sub_seq: int | None = None  # seq the socket said it was at when subscribing
        self.appear: dict[str, float] = {}  # container engine id → first time shown
        self.gone: dict[str, float] = {}    # container engine id → first time no longer shown
        self.first_patch: dict[tuple[str, str], float] = {}  # (op, container id) → patch received
        self.patch_ops: dict[str, set] = {"add": set(), "remove": set()}
        self.counts = Counter()
        self.errors: list[str] = []
        self.subscribed = asyncio.Event()
        self.closing = False
        self.tasks: set = set()

    # the picture
    def _shown(self, i: str, now: float) -> None:
        if i.startswith("ctr:"):
            self.appear.setdefault(i[4:], now)

    def _hidden(self, i: str, now: float) -> None:
        if i.startswith("ctr:") and i[4:] in self.appear:
            self.gone.setdefault(i[4:], now)

    def _apply(self, ops: list[dict]) -> None:
        """Graph.applyOps: a remove drops the element, add and update set it whole."""
        now = time.time()
        for op in ops:
            i = op["id"]
            if op["op"] == "remove":
                if self.model.pop(i, None) is not None:
                    self._hidden(i, now)
            elif op.get("data"):
                if i not in self.model:
                    self._shown(i, now)
                self.model[i] = ("edge" if op.get("kind") == "edge" else "node", op["data"])

    def _load(self, data: dict) -> None:
        """Graph.load: the host's elements become the snapshot's (a diff; positions kept)."""
        now = time.time()
        new = {n["id"]: ("node", n) for n in data["nodes"]}
        new.update({e["id"]: ("edge", e) for e in data["edges"]})
        for i in set(self.model) - set(new):
            self._hidden(i, now)
        for i in set(new) - set(self.model):
            self._shown(i, now)
        self.model = new

    async def fetch(self) -> dict:
        async with self.http.get(f"{self.base}/api/hosts/{self.host}/topology/",
                                 headers={"Cookie": self.cookie, "Accept": "application/json"}) as r:
            if r.status != 200:
                raise RuntimeError(f"topology of {self.host}: HTTP {r.status}")
            return await r.json()

    # the page's protocol
    async def show(self) -> None:
        if self.held is None:
            self.held = []
        data = await self.fetch()
        self._load(data)
        self._loaded(data.get("seq"))

    def _loaded(self, seq) -> None:
        held = self.held or []
        self.held = None
        self.seq = seq if isinstance(seq, int) else 0
        if self.sub_seq is not None and self.sub_seq > self.seq and not any(m["seq"] == self.seq + 1 for m in held):
            self._resync()  # the socket was already further than this graph, and nothing fills the gap
            return
        for m in sorted(held, key=lambda m: m["seq"]):
            self._on_patch(m)

    def _on_patch(self, m: dict) -> None:
        if m.get("host") != self.host:
            return
        if self.held is not None:
            self.held.append(m)
            return
        have = self.seq
        if have is not None and m["seq"] <= have:
            return
        if have is not None and m["seq"] > have + 1:
            self.counts["gaps"] += 1
            self._resync()
            return
        self.seq = m["seq"]
        self._apply(m["ops"])

    def _resync(self) -> None:
        if self.held is not None:
            return
        self.held = []
        self.counts["resyncs"] += 1
        task = asyncio.ensure_future(self._refetch())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _refetch(self) -> None:
        try:
            data = await self.fetch()
        except Exception as exc:
            self.errors.append(f"refetch: {exc!r}")
            self.held = None
            await asyncio.sleep(1.0)
            self._resync()
            return
        self._load(data)
        self._loaded(data.get("seq"))

    def _on_subscribed(self, m: dict) -> None:
        s = (m.get("seq") or {}).get(self.host)
        if s is not None:
            self.sub_seq = s
            if self.seq is not None and self.seq != s:
                self._resync()
        self.subscribed.set()

    async def live(self) -> None:
        """`_connect`: open, subscribe, handle messages; reconnect after 0.5 s, doubling to 15 s."""
        import aiohttp

        backoff = 0.25
        url = self.base.replace("http://", "ws://") + "/ws/topology/"
        while not self.closing:
            code = None
            try:
                async with self.http.ws_connect(url, origin=self.base, headers={"Cookie": self.cookie},
                                                autoping=True, max_msg_size=0) as ws:
                    self.counts["connects"] += 1
                    backoff = 0.25
                    await ws.send_str(json.dumps({"type": "subscribe", "hosts": [self.host]}))
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            continue
                        now = time.time()
                        m = json.loads(msg.data)
                        kind = m.get("type")
                        if kind == "topology.patch":
                            self.counts["patches"] += 1
                            for op in m.get("ops", ()):
                                if op.get("kind") == "node" and op["id"].startswith("ctr:"):
                                    self.first_patch.setdefault((op["op"], op["id"][4:]), now)
                                    if op["op"] in self.patch_ops:
                                        self.patch_ops[op["op"]].add(op["id"][4:])
                            self._on_patch(m)
                        elif kind == "topology.resync":
                            self.counts["server_resyncs"] += 1
                            self._resync()
                        elif kind == "subscribed" and "hosts" in m:
                            self._on_subscribed(m)
                    code = ws.close_code
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.errors.append(f"socket: {exc!r}")
            if self.closing:
                break
            if code in (4401, 4403):
                self.errors.append(f"socket closed with {code} (signed out)")
                break
            backoff = min(backoff * 2, 15.0)
            await asyncio.sleep(backoff)

    def result(self, ids: set[str]) -> dict:
        return {
            "appear": {i: t for i, t in self.appear.items() if i in ids},
            "gone": {i: t for i, t in self.gone.items() if i in ids},
            "first_patch": [[op, i, t] for (op, i), t in self.first_patch.items() if i in ids],
            "patch_adds": len(self.patch_ops["add"] & ids),
            "patch_removes": len(self.patch_ops["remove"] & ids),
            "counts": dict(self.counts),
            "errors": self.errors[:5],
        }


class LayerListener:
    """A member of host `local`'s channel-layer group, like a consumer of a web worker: when each
    patch was published (to split the lag into the producer's part and the web tier's)."""

    def __init__(self, layer_config: dict, group: str):
        self.config, self.group = layer_config, group
        self.first: dict[tuple[str, str], float] = {}
        self.patches = 0
        self.seqs: list[int] = []
        self.ready = asyncio.Event()

    async def run(self) -> None:
        from channels_redis.core import RedisChannelLayer

        layer = RedisChannelLayer(**self.config)
        channel = await layer.new_channel()
        await layer.group_add(self.group, channel)
        self.ready.set()
        try:
            while True:
                m = await layer.receive(channel)
                now = time.time()
                if m.get("type") != "topology.patch":
                    continue
                self.patches += 1
                self.seqs.append(m.get("seq"))
                for op in m.get("ops", ()):
                    if op.get("kind") == "node" and op["id"].startswith("ctr:"):
                        self.first.setdefault((op["op"], op["id"][4:]), now)
        finally:
            await layer.group_discard(self.group, channel)


async def _ws_main(base: str, cookies: list[str], layer: dict, conn) -> None:
    import aiohttp

    loop = asyncio.get_running_loop()
    recv = lambda: loop.run_in_executor(None, conn.recv)  # noqa: E731
    cpu0 = time.process_time()
    listener = LayerListener(**layer)
    listener_task = asyncio.ensure_future(listener.run())
    await asyncio.wait_for(listener.ready.wait(), 10)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                     timeout=aiohttp.ClientTimeout(total=60)) as http:
        clients = [LiveClient(n, base, c, http) for n, c in enumerate(cookies)]
        # showHosts, then _connect (the page fetches its graph before opening the socket)
        await asyncio.gather(*(c.show() for c in clients))
        runners = [asyncio.ensure_future(c.live()) for c in clients]
        await asyncio.wait_for(asyncio.gather(*(c.subscribed.wait() for c in clients)), 60)
        conn.send(("ready", None))

        cmd = await recv()
        assert cmd[0] == "churn_end", cmd
        t_end, ids = cmd[1], set(cmd[2])
        # Convergence: the first moment each client's picture equals the API's, once the API
        # shows the churn's end (none of its containers); the API is read every 0.2 s.
        converged: dict[int, float] = {}
        api_caught_up = None
        while time.time() < t_end + CONVERGE_LIMIT and len(converged) < len(clients):
            try:
                api = await clients[0].fetch()
            except Exception:
                await asyncio.sleep(0.2)
                continue
            now = time.time()
            nodes, edges = picture_of_api(api)
            if any(f"ctr:{i}" in nodes for i in ids):
                await asyncio.sleep(0.2)
                continue
            api_caught_up = api_caught_up or now - t_end
            for c in clients:
                if c.n not in converged and not picture_diff(picture_of_model(c.model), (nodes, edges)):
                    converged[c.n] = now - t_end
            await asyncio.sleep(0.2)

        cmd = await recv()
        assert cmd[0] == "stop", cmd
        api = None
        for _ in range(10):  # the final picture, once the API has the churn's end
            api = await clients[0].fetch()
            if not any(f"ctr:{i}" in {n["id"] for n in api["nodes"]} for i in ids):
                break
            await asyncio.sleep(0.5)
        final = picture_of_api(api)
        out = []
        for c in clients:
            r = c.result(ids)
            r["converged"] = converged.get(c.n)
            r["final_diff"] = picture_diff(picture_of_model(c.model), final)
            out.append(r)
            c.closing = True
        for t in [*runners, listener_task]:
            t.cancel()
        await asyncio.gather(*runners, listener_task, return_exceptions=True)
    seqs = [s for s in listener.seqs if isinstance(s, int)]
    conn.send(("result", {"clients": out, "api_caught_up": api_caught_up, "cpu": time.process_time() - cpu0,
                          "layer": {"first": [[op, i, t] for (op, i), t in listener.first.items() if i in ids],
                                    "patches": listener.patches,
                                    "seq_span": (max(seqs) - min(seqs) + 1) if seqs else 0}}))


def ws_entry(base: str, cookies: list[str], layer: dict, conn) -> None:
    """The websocket clients' process: `layer` = {layer_config, group} of the channel-layer
    listener (the settings' channel layer, the host's group)."""
    try:
        asyncio.run(_ws_main(base, cookies, layer, conn))
    except BaseException as exc:  # the parent must not wait forever
        import traceback

        conn.send(("error", "".join(traceback.format_exception(exc))))


# --- the HTTP clients (a process of their own) --------------------------------------------------

async def _http_main(base: str, token: str, start_at: float, duration: float, n: int) -> dict:
    import aiohttp

    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    lat: list[list] = [[] for _ in ENDPOINTS]
    errors = Counter()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        t0, c0 = time.time(), time.process_time()
        deadline = t0 + duration

        async def client(k: int) -> None:
            i = k
            while time.time() < deadline:
                e = i % len(ENDPOINTS)
                i += 1
                t = time.perf_counter()
                try:
                    async with http.get(f"{base}/api/hosts/{HOST}/{ENDPOINTS[e]}/", headers=headers) as r:
                        await r.read()
                        if r.status != 200:
                            errors[f"HTTP {r.status}"] += 1
                            continue
                except Exception as exc:
                    errors[type(exc).__name__] += 1
                    continue
                lat[e].append(time.perf_counter() - t)

        await asyncio.gather(*(client(k) for k in range(n)))
        wall = time.time() - t0
        cpu = time.process_time() - c0
    return {"lat": lat, "errors": dict(errors), "wall": wall, "cpu": cpu}


def http_entry(base: str, token: str, start_at: float, duration: float, n: int, conn) -> None:
    try:
        conn.send(("result", asyncio.run(_http_main(base, token, start_at, duration, n))))
    except BaseException as exc:
        import traceback

        conn.send(("error", "".join(traceback.format_exception(exc))))


def _expect(conn, what: str, timeout: float):
    if not conn.poll(timeout):
        raise RuntimeError(f"no {what} within {timeout:.0f} s")
    kind, value = conn.recv()
    if kind == "error":
        raise RuntimeError(f"{what} failed:\n{value}")
    return value


# --- the engine side (this process) -------------------------------------------------------------

class EngineEvents(threading.Thread):
    """Container events of the bench's containers on a `docker events` stream of our own:
    (action, id) → (the event's own time, when it arrived here)."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.client = client
        self.times: dict[tuple[str, str], tuple[float, float]] = {}
        self.ready = threading.Event()
        self.stream = None

    def run(self):
        self.stream = self.client.events(decode=True, filters={"type": "container", "label": "dockerweb.bench=load"})
        self.ready.set()
        try:
            for ev in self.stream:
                now = time.time()
                self.times.setdefault((ev.get("Action") or ev.get("status"), ev.get("id")), (ev["timeNano"] / 1e9, now))
        except Exception:
            pass

    def close(self):
        try:
            self.stream.close()
        except Exception:
            pass


class RedisMonitor(threading.Thread):
    """Redis's own record (MONITOR) of when the watcher noted each container change for the
    producer (RPUSH to the host's change list) and when the producer numbered each patch (INCR of
    the host's seq): splits the quiet lag between the watcher and the producer."""

    def __init__(self):
        super().__init__(daemon=True)
        import re

        from dockerweb.core import live

        self.changes_key, self.seq_key = live._changes_key(HOST), live._seq_key(HOST)
        self.hex = re.compile(r"[0-9a-f]{64}")
        self.noted: dict[str, float] = {}
        self.numbered: list[float] = []
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
                    if c.startswith("RPUSH") and self.changes_key in c:
                        for i in self.hex.findall(c):
                            self.noted.setdefault(i, cmd["time"])
                    elif c.startswith("INCR") and self.seq_key in c:
                        self.numbered.append(cmd["time"])
        except Exception:
            pass

    def close(self):
        try:
            self.client.connection_pool.disconnect()
        except Exception:
            pass

    def numbered_after(self, t: float) -> float | None:
        import bisect

        k = bisect.bisect_left(self.numbered, t)
        return self.numbered[k] if k < len(self.numbered) else None


def remove_bench_containers(client) -> None:
    import docker

    for c in client.containers.list(all=True, filters={"label": "dockerweb.bench=load"}):
        try:
            c.remove(force=True)
        except docker.errors.NotFound:
            pass


def churn(client, start_at: float, spread: float, prefix: str) -> list[dict]:
    """N_CHURN containers created one by one over `spread` seconds, then removed over as long."""
    every = spread / N_CHURN
    made: list[dict] = []
    for i in range(N_CHURN):
        time.sleep(max(0.0, start_at + i * every - time.time()))
        t = time.time()
        c = client.containers.create(IMAGE, ["sleep", "600"], name=f"{prefix}{i:02d}", labels=LABEL)
        made.append({"id": c.id, "create_call": t, "create_ret": time.time()})
    t_removes = start_at + spread
    for i, m in enumerate(made):
        time.sleep(max(0.0, t_removes + i * every - time.time()))
        t = time.time()
        client.api.remove_container(m["id"], force=True)
        m["remove_call"], m["remove_ret"] = t, time.time()
    return made


class Profiles:
    """BENCH_LOAD_PROFILE=1: py-spy (`pip install py-spy`) samples the web server's processes and
    the watcher during the load; the functions that dominate are printed (a development aid)."""

    def __init__(self, label: str, pids: dict[str, int], seconds: float):
        import shutil

        self.files, self.procs = {}, []
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not os.environ.get("BENCH_LOAD_PROFILE") or not Path(spy).exists():
            return
        out = Path(os.environ.get("DOCKERWEB_DATA_DIR", ROOT / "var")) / "logs"
        out.mkdir(parents=True, exist_ok=True)
        import subprocess

        for name, pid in pids.items():
            f = out / f"profile-{label}-{name}.txt"
            self.files[name] = f
            self.procs.append(subprocess.Popen([spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "100",
                                                "-f", "raw", "-o", str(f), "--nonblocking"],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def report(self, top: int = 12) -> list[str]:
        lines: list[str] = []
        for p in self.procs:
            try:
                p.wait(30)
            except Exception:
                p.kill()
        for name, f in self.files.items():
            if not f.exists():
                continue
            own, incl, total = Counter(), Counter(), 0
            for line in f.read_text().splitlines():
                stack, _, n = line.rpartition(" ")
                if not stack or not n.isdigit():
                    continue
                frames = stack.split(";")
                total += int(n)
                own[frames[-1]] += int(n)
                for fr in set(frames):
                    if "dockerweb/" in fr or "rest_framework/" in fr or "django/" in fr or "channels" in fr:
                        incl[fr] += int(n)
            if not total:
                continue
            lines.append(f"  profile of {name} ({total} samples, {f}):")
            lines.append("    self: " + "; ".join(f"{100 * n / total:.0f}% {fr}" for fr, n in own.most_common(top)))
            lines.append("    inclusive (project, Django, DRF, Channels frames): " +
                         "; ".join(f"{100 * n / total:.0f}% {fr}" for fr, n in incl.most_common(top)))
        return lines


def layer_args() -> dict:
    from django.conf import settings

    from dockerweb.core import live

    return {"layer_config": dict(settings.CHANNEL_LAYERS["default"].get("CONFIG") or {}),
            "group": live.host_group(HOST)}


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(proc) -> dict[int, float]:
    out = {}
    for pid in [proc.pid, *proc.children()]:
        v = cpu_seconds(pid)
        if v is not None:
            out[pid] = v
    return out


def tree_cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after[p] - before.get(p, 0.0) for p in after)


# --- the parts ------------------------------------------------------------------------------------

def load_phase(label: str, server: str, *, client, token: str, cookies: list[str], watcher, events) -> dict:
    from tests.support import procs

    workers = os.cpu_count() or 1
    proc, base = procs.start_asgi(f"load-{label}", server=server, workers=workers)
    ctx = mp.get_context("spawn")
    ws_conn, ws_child = ctx.Pipe()
    http_conn, http_child = ctx.Pipe()
    wsp = hp = None
    try:
        wsp = ctx.Process(target=ws_entry, args=(base, cookies, layer_args(), ws_child), daemon=True)
        wsp.start()
        _expect(ws_conn, "websocket clients' start", 120)
        start_at = time.time() + 1.0
        hp = ctx.Process(target=http_entry, args=(base, token, start_at, SECONDS, N_HTTP, http_child), daemon=True)
        hp.start()
        time.sleep(max(0.0, start_at - time.time()))
        web0, watch0, t0 = tree_cpu(proc), cpu_seconds(watcher.pid), time.time()
        pids = {f"web-{pid}": pid for pid in (proc.children() or [proc.pid])} | {"watcher": watcher.pid}
        profiles = Profiles(label, pids, 0.8 * SECONDS)
        spread = 0.35 * SECONDS
        made = churn(client, start_at + min(2.0, 0.05 * SECONDS), spread, f"{PREFIX}{label}-")
        t_end = made[-1]["remove_ret"]
        ws_conn.send(("churn_end", t_end, [m["id"] for m in made]))
        http = _expect(http_conn, "HTTP load", SECONDS + 120)
        web_cpu = tree_cpu_delta(web0, tree_cpu(proc))
        watch_cpu = (cpu_seconds(watcher.pid) or 0) - (watch0 or 0)
        wall = time.time() - t0
        ws_conn.send(("stop",))
        ws = _expect(ws_conn, "websocket results", CONVERGE_LIMIT + 120)
    finally:
        for p in (hp, wsp):
            if p is not None:
                p.join(10)
                if p.is_alive():
                    p.terminate()
        proc.stop()
        remove_bench_containers(client)
    for m in made:
        m["create_engine"] = events.times.get(("create", m["id"]), (m["create_ret"], None))[0]
        m["remove_engine"] = events.times.get(("destroy", m["id"]), (m["remove_ret"], None))[0]
    return {"profile": profiles.report(), "label": label, "server": server, "workers": workers if server == "web" else 1, "http": http, "ws": ws,
            "made": made, "t_end": t_end, "web_cpu": web_cpu, "watch_cpu": watch_cpu, "wall": wall}


def quiet_phase(*, client, cookies: list[str], events) -> dict:
    from tests.support import procs

    proc, base = procs.start_asgi("load-quiet", server="web", workers=os.cpu_count() or 1)
    ctx = mp.get_context("spawn")
    ws_conn, ws_child = ctx.Pipe()
    wsp = monitor = None
    made: list[dict] = []
    try:
        wsp = ctx.Process(target=ws_entry, args=(base, cookies[:1], layer_args(), ws_child), daemon=True)
        wsp.start()
        _expect(ws_conn, "websocket client's start", 60)
        monitor = RedisMonitor()
        monitor.start()
        monitor.ready.wait(10)
        time.sleep(1.0)
        t0 = time.time() + 0.1
        prev = None
        for i in range(N_QUIET + 1):
            time.sleep(max(0.0, t0 + i * QUIET_EVERY - time.time()))
            m = None
            if i < N_QUIET:
                t = time.time()
                c = client.containers.create(IMAGE, ["sleep", "600"], name=f"{PREFIX}quiet-{i:02d}", labels=LABEL)
                m = {"id": c.id, "create_call": t, "create_ret": time.time()}
                made.append(m)
            if prev is not None:
                t = time.time()
                client.api.remove_container(prev["id"], force=True)
                prev["remove_call"], prev["remove_ret"] = t, time.time()
            prev = m
        t_end = time.time()
        ws_conn.send(("churn_end", t_end, [m["id"] for m in made]))
        time.sleep(3.0)
        ws_conn.send(("stop",))
        ws = _expect(ws_conn, "websocket results", CONVERGE_LIMIT + 60)
    finally:
        if monitor is not None:
            monitor.close()
        if wsp is not None:
            wsp.join(10)
            if wsp.is_alive():
                wsp.terminate()
        proc.stop()
        remove_bench_containers(client)
    patches = {(op, i): t for op, i, t in ws["clients"][0]["first_patch"]}
    published = {(op, i): t for op, i, t in ws["layer"]["first"]}
    out = {"add": [], "remove": [], "add_floor": [], "remove_floor": [], "missing": 0, "create_call": [],
           "add_published": [], "add_forward": [], "watcher": [], "producer": [], "send": []}
    for m in made:
        out["create_call"].append(m["create_ret"] - m["create_call"])
        for op, action, call in (("add", "create", "create_call"), ("remove", "destroy", "remove_call")):
            if call not in m:
                continue
            ev = events.times.get((action, m["id"]))
            if ev is not None:
                out[f"{op}_floor"].append(ev[1] - m[call])
            if (op, m["id"]) in patches:
                out[op].append(patches[(op, m["id"])] - m[call])
            else:
                out["missing"] += 1
            if op == "add" and (op, m["id"]) in published:
                out["add_published"].append(published[(op, m["id"])] - m[call])
                if (op, m["id"]) in patches:
                    out["add_forward"].append(patches[(op, m["id"])] - published[(op, m["id"])])
                noted = monitor.noted.get(m["id"])
                numbered = monitor.numbered_after(noted) if noted is not None else None
                if ev is not None and noted is not None and numbered is not None:
                    out["watcher"].append(noted - ev[1])
                    out["producer"].append(numbered - noted)
                    out["send"].append(published[(op, m["id"])] - numbered)
    out["converged"] = ws["clients"][0]["converged"]
    out["final_diff"] = ws["clients"][0]["final_diff"]
    return out


# --- reports --------------------------------------------------------------------------------------

def report_load(r: dict) -> dict:
    """Print one load run; return its figures for the targets."""
    http, ws, made = r["http"], r["ws"], r["made"]
    all_lat = [x for per in http["lat"] for x in per]
    n_req = len(all_lat) + sum(http["errors"].values())
    rps = len(all_lat) / http["wall"]
    n_err = sum(http["errors"].values())
    name = ("one daphne process (baseline)" if r["server"] == "daphne"
            else f"web tier: gunicorn + {r['workers']} uvicorn workers (scripts/web.sh)")
    print(f"\n=== LOAD against {name}: {N_HTTP} HTTP clients, {N_WS} websocket clients, {N_CHURN} containers "
          f"created then removed, {SECONDS:.0f} s")
    print(f"HTTP: {n_req} requests, {rps:.1f} requests/s, p50 {ms(pct(all_lat, 50))}, p95 {ms(pct(all_lat, 95))}, "
          f"p99 {ms(pct(all_lat, 99))}, errors {n_err}{' ' + json.dumps(http['errors']) if n_err else ''}")
    print("  per endpoint: " + ", ".join(
        f"{e} {len(http['lat'][k])} × p50 {ms(pct(http['lat'][k], 50))} p95 {ms(pct(http['lat'][k], 95))}"
        for k, e in enumerate(ENDPOINTS)))
    load_cpu = http["cpu"] / http["wall"]
    ncpu = os.cpu_count() or 1
    print(f"  CPU over the run: web server {100 * r['web_cpu'] / r['wall']:.0f}% of one core (of {100 * ncpu}%), "
          f"watcher {100 * r['watch_cpu'] / r['wall']:.0f}%, HTTP load generator {100 * load_cpu:.0f}%, "
          f"websocket clients {100 * ws['cpu'] / (r['wall'] + CONVERGE_LIMIT):.0f}%"
          + ("  ← the load generator saturates a core: the figures are a floor" if load_cpu > 0.85 else ""))
    lived = {m["id"]: m["remove_engine"] - m["create_engine"] for m in made}
    ids = list(lived)
    print(f"Websocket clients: containers lived {min(lived.values()):.1f}–{max(lived.values()):.1f} s; "
          f"the API showed the churn's end {ms(ws['api_caught_up'] or float('nan'))} after the last remove returned")
    print("  client  adds  removes  resyncs (told/gap)  connects  lag p50  lag p95   max    missed>2s  converged  final")
    lags_all, missed_all, converged, finals, never_removed = [], 0, 0, 0, 0
    for n, c in enumerate(ws["clients"]):
        lags, missed = [], 0
        for m in made:
            i = m["id"]
            if i in c["appear"]:
                lags.append(c["appear"][i] - m["create_engine"])
                if i in c["gone"]:
                    lags.append(c["gone"][i] - m["remove_engine"])
                else:
                    never_removed += 1
            elif lived[i] > LAG_TARGET:
                missed += 1
        lags_all += lags
        missed_all += missed
        conv = c["converged"]
        converged += conv is not None and conv <= CONVERGE_TARGET
        finals += not c["final_diff"]
        counts = c["counts"]
        print(f"  {n:>6}  {c['patch_adds']:>4}  {c['patch_removes']:>7}  {counts.get('resyncs', 0):>7} "
              f"({counts.get('server_resyncs', 0)}/{counts.get('gaps', 0)})  {counts.get('connects', 0):>8}  "
              f"{ms(pct(lags, 50)):>7}  {ms(pct(lags, 95)):>7}  {ms(max(lags) if lags else float('nan')):>7}  "
              f"{missed:>9}  {('%.2f s' % conv) if conv is not None else 'never':>9}  "
              f"{'equal' if not c['final_diff'] else 'DIFFERS: ' + c['final_diff']}")
        for e in c["errors"]:
            print(f"          error: {e}")
    published = {(op, i): t for op, i, t in ws["layer"]["first"]}
    to_layer, layer_to_client = [], []
    for m in made:
        for op, engine in (("add", m["create_engine"]), ("remove", m["remove_engine"])):
            t = published.get((op, m["id"]))
            if t is None:
                continue
            to_layer.append(t - engine)
            for c in ws["clients"]:
                seen = (c["appear"] if op == "add" else c["gone"]).get(m["id"])
                if seen is not None:
                    layer_to_client.append(seen - t)
    print(f"  where the lag is: engine change → patch published on the channel layer (watcher + producer) "
          f"p50 {ms(pct(to_layer, 50))}, p95 {ms(pct(to_layer, 95))} ({len(to_layer)} of {2 * len(made)} changes "
          f"had a patch of their own; {ws['layer']['patches']} patches, seq span {ws['layer']['seq_span']}); "
          f"published → client's picture p50 {ms(pct(layer_to_client, 50))}, p95 {ms(pct(layer_to_client, 95))}")
    print(f"  patches received per client: {', '.join(str(c['counts'].get('patches', 0)) for c in ws['clients'])}")
    print(f"  all clients: lag engine change → picture p50 {ms(pct(lags_all, 50))}, p95 {ms(pct(lags_all, 95))} "
          f"({len(lags_all)} changes seen of {2 * len(ids) * len(ws['clients'])}; {missed_all} containers that lived "
          f"> {LAG_TARGET:.0f} s never shown, {never_removed} shown but never removed); "
          f"{converged}/{len(ws['clients'])} converged within {CONVERGE_TARGET:.0f} s; "
          f"{finals}/{len(ws['clients'])} final pictures equal the API's")
    for line in r["profile"]:
        print(line)
    return {"rps": rps, "p95": pct(all_lat, 95), "errors": n_err, "lag_p95": pct(lags_all, 95), "missed": missed_all,
            "never_removed": never_removed, "converged": converged, "finals": finals, "clients": len(ws["clients"]),
            "load_cpu": load_cpu}


def report_quiet(q: dict) -> dict:
    print(f"\n=== QUIET (web tier, nothing else running): a create and the previous container's removal every "
          f"{QUIET_EVERY * 1000:.0f} ms, {N_QUIET} samples")
    print(f"  SDK create call → add patch on the socket: p50 {ms(pct(q['add'], 50))}, p95 {ms(pct(q['add'], 95))}, "
          f"max {ms(max(q['add']) if q['add'] else float('nan'))} — target p95 ≤ {QUIET_TARGET * 1000:.0f} ms")
    print(f"    engine floor, SDK create call → event on our own `docker events` stream: p50 {ms(pct(q['add_floor'], 50))}, "
          f"p95 {ms(pct(q['add_floor'], 95))} (the SDK create call itself returns after p50 {ms(pct(q['create_call'], 50))})")
    print(f"    split: SDK create call → patch published on the channel layer (watcher + producer) p50 "
          f"{ms(pct(q['add_published'], 50))}, p95 {ms(pct(q['add_published'], 95))}; published → socket (web tier) "
          f"p50 {ms(pct(q['add_forward'], 50))}, p95 {ms(pct(q['add_forward'], 95))}")
    print(f"    split of event → published (Redis MONITOR): event → change noted for the producer (watcher: "
          f"inspect, mirror write) p50 {ms(pct(q['watcher'], 50))}, p95 {ms(pct(q['watcher'], 95))}; noted → patch "
          f"numbered (producer: wake, read, diff) p50 {ms(pct(q['producer'], 50))}, p95 {ms(pct(q['producer'], 95))}; "
          f"numbered → published (group send) p50 {ms(pct(q['send'], 50))}, p95 {ms(pct(q['send'], 95))}")
    print(f"  SDK remove call → remove patch: p50 {ms(pct(q['remove'], 50))}, p95 {ms(pct(q['remove'], 95))}; "
          f"floor (→ destroy event) p50 {ms(pct(q['remove_floor'], 50))}, p95 {ms(pct(q['remove_floor'], 95))}")
    conv = "never" if q["converged"] is None else f"{q['converged']:.2f} s"
    print(f"  patches missing (an add and a remove folded into one patch, or lost): {q['missing']}; the picture "
          f"equalled the API {conv} after the last change; "
          f"final picture {'equals the API' if not q['final_diff'] else 'DIFFERS: ' + q['final_diff']}")
    return {"p95": pct(q["add"], 95), "missing": q["missing"]}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerweb.settings")
    import django

    django.setup()
    import docker
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from dockerweb.core.services import user_set_role
    from dockerweb.inventory.models import Host
    from dockerweb.inventory.services import host_reconcile, host_register
    from tests.support import procs

    client = docker.DockerClient(base_url=os.environ["DOCKER_HOST"], version="1.41", timeout=120)
    remove_bench_containers(client)
    local = Host.objects.filter(name=HOST).first() or host_register(name=HOST, url=os.environ["DOCKER_HOST"])
    host_reconcile(host=local)
    User = get_user_model()
    user = User.objects.filter(username="bench-load").first() or User.objects.create_user(
        "bench-load", password=f"pw-{random.getrandbits(64):x}")
    user_set_role(user=user, role="viewer")
    token = Token.objects.get_or_create(user=user)[0].key
    cookies = []
    for _ in range(N_WS):
        c = Client()
        c.force_login(user)
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={c.cookies[settings.SESSION_COOKIE_NAME].value}")

    watcher = procs.start_watcher()
    events = EngineEvents(client)
    events.start()
    events.ready.wait(10)
    results: dict = {}
    try:
        procs.wait_for(lambda: Host.objects.filter(name=HOST, status="ok", watching_since__isnull=False).exists(),
                       timeout=60, message="the watcher to follow host local")
        print(f"bench_load: {os.cpu_count()} cores; DOCKERWEB_LIGHT_POLL={settings.LIGHT_POLL} s; "
              f"parts: {', '.join(PARTS)}", flush=True)
        common = {"client": client, "token": token, "cookies": cookies, "watcher": watcher, "events": events}
        if "daphne" in PARTS:
            results["daphne"] = report_load(load_phase("daphne", "daphne", **common))
        if "quiet" in PARTS:
            results["quiet"] = report_quiet(quiet_phase(client=client, cookies=cookies, events=events))
        if "web" in PARTS:
            results["web"] = report_load(load_phase("web", "web", **common))
    finally:
        events.close()
        watcher.stop()
        remove_bench_containers(client)
    print_targets(results)


def print_targets(results: dict) -> None:
    print("\n=== targets (issue 16)")
    rows = []
    web, base, quiet = results.get("web"), results.get("daphne"), results.get("quiet")
    if web:
        rows += [
            ("0 HTTP errors", f"{web['errors']}", web["errors"] == 0),
            (f"HTTP p95 ≤ {P95_TARGET * 1000:.0f} ms", ms(web["p95"]), web["p95"] <= P95_TARGET),
            (f"lag engine → every client's picture p95 ≤ {LAG_TARGET:.0f} s", ms(web["lag_p95"]),
             web["lag_p95"] <= LAG_TARGET and web["missed"] == 0),
            (f"every container that lived > {LAG_TARGET:.0f} s shown by every client",
             f"{web['missed']} missed, {web['never_removed']} never removed",
             web["missed"] == 0 and web["never_removed"] == 0),
            (f"clients converged to the API within {CONVERGE_TARGET:.0f} s after the churn",
             f"{web['converged']}/{web['clients']}", web["converged"] == web["clients"]),
            ("final pictures equal the API's", f"{web['finals']}/{web['clients']}", web["finals"] == web["clients"]),
        ]
        if base:
            ratio = web["rps"] / base["rps"] if base["rps"] else float("inf")
            rows.append((f"throughput web tier / one daphne ≥ {RATIO_TARGET:.0f}×",
                         f"{ratio:.2f}× ({web['rps']:.1f} vs {base['rps']:.1f} requests/s)", ratio >= RATIO_TARGET))
    if quiet:
        rows.append((f"quiet: SDK call → patch p95 ≤ {QUIET_TARGET * 1000:.0f} ms", ms(quiet["p95"]),
                     quiet["p95"] <= QUIET_TARGET))
    for what, value, ok in rows:
        print(f"  {'PASS' if ok else 'FAIL'}  {what}: {value}")
    if web and web["load_cpu"] > 0.85:
        print("  note: the HTTP load generator used more than 85% of a core; throughput figures are a floor")


if __name__ == "__main__":
    main()
