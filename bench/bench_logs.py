"""Benchmark of following a chatty container's log (run by `make bench ARGS=bench/bench_logs.py`,
which starts a private engine and Redis and sets DOCKER_HOST). Real web tier (`scripts/web.sh`:
uvicorn under gunicorn, one worker), real websocket client, real container.

A container prints numbered lines as fast as it can (busybox `sh`: `i=$((i+1)); echo $i`). For
BENCH_LOGS_SECONDS (10), at the same time:
- a websocket client follows it on /ws/logs/ (a viewer's session cookie, same-origin `Origin`,
  per-message compression as browsers ask for it) and reads as fast as it can: lines/s
  delivered, lines reported `dropped`, and the check that every gap in the numbers is exactly a
  reported drop (never silent);
- the baseline: `docker logs -f` through the docker SDK (`APIClient.logs(stream=True,
  follow=True)`) in this process, counting lines;
- the container's own rate, from its line numbers at the start and the end (`docker logs
  --tail 1`).

Target (issue 13): at least 10,000 lines/s delivered to the websocket client, with every line
left out counted; printed PASS/FAIL. Everything it creates is removed at the end; the server it
starts is stopped by its pid."""
from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerweb.settings")

import django  # noqa: E402

django.setup()

import docker  # noqa: E402
import websockets  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

from dockerweb.inventory.services import host_reconcile, host_register  # noqa: E402
from tests.support import procs  # noqa: E402

IMAGE = "dockerweb-test/busybox:latest"
NAME = "bench-logs-chatty"
SECONDS = float(os.environ.get("BENCH_LOGS_SECONDS", 10))
TARGET = 10000  # lines/s delivered


def last_number(engine, container) -> int:
    tail = engine.api.logs(container.id, tail=5).split()
    return int(tail[-1]) if tail else 0


def sdk_follow(engine, container, started: threading.Event, result: dict) -> None:
    stream = engine.api.logs(container.id, stream=True, follow=True, tail=0)
    count = 0
    started.wait(60)
    t0 = time.monotonic()
    try:
        for chunk in stream:
            count += chunk.count(b"\n")
            if time.monotonic() - t0 >= SECONDS:
                break
    finally:
        stream.close()
    result["rate"] = count / (time.monotonic() - t0)


async def ws_follow(base: str, cookie: str, started: threading.Event) -> dict:
    delivered = dropped = messages = silent = 0
    last = None
    owed = 0
    async with websockets.connect(base.replace("http://", "ws://") + "/ws/logs/", origin=base,
                                  additional_headers={"Cookie": cookie}, max_size=None, proxy=None,
                                  open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "follow", "host": "local", "container": NAME, "tail": 0}))
        while json.loads(await ws.recv())["type"] != "following":
            pass
        started.set()
        t0 = time.monotonic()
        while (elapsed := time.monotonic() - t0) < SECONDS:
            m = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if m["type"] != "logs.lines":
                continue
            messages += 1
            dropped += m["dropped"]
            owed += m["dropped"]
            for line in m["lines"]:
                n = int(line["text"])
                if last is not None and n != last + 1 + owed:
                    silent += abs(n - (last + 1 + owed))
                owed = 0
                last = n
                delivered += 1
    return {"rate": delivered / elapsed, "delivered": delivered, "dropped": dropped, "messages": messages,
            "silent": silent}


def main() -> None:
    from django.contrib.auth import get_user_model

    from dockerweb.core.services import user_set_role

    engine = docker.DockerClient(base_url=os.environ["DOCKER_HOST"], version="1.41", timeout=60)
    local = host_register(name="local", url=os.environ["DOCKER_HOST"])
    host_reconcile(host=local)
    User = get_user_model()
    user = User.objects.filter(username="bench-logs").first() or User.objects.create_user("bench-logs",
                                                                                          password="bench-pw-1")
    user_set_role(user=user, role="viewer")
    client = Client()
    assert client.login(username="bench-logs", password="bench-pw-1")
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    web, base = procs.start_asgi("bench-logs-web")
    container = None
    try:
        container = engine.containers.run(IMAGE, ["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; done"],
                                          name=NAME, detach=True, labels={"dockerweb.bench": "logs"})
        time.sleep(1)
        started, baseline = threading.Event(), {}
        sdk = threading.Thread(target=sdk_follow, args=(engine, container, started, baseline))
        sdk.start()
        first = last_number(engine, container)
        t0 = time.monotonic()
        ours = asyncio.run(ws_follow(base, cookie, started))
        produced = (last_number(engine, container) - first) / (time.monotonic() - t0)
        sdk.join(60)
    finally:
        if container is not None:
            container.remove(force=True)
        web.stop()

    print(f"container printed:                      {produced:>10,.0f} lines/s")
    print(f"docker logs -f through the SDK (base):  {baseline.get('rate', 0):>10,.0f} lines/s")
    print(f"/ws/logs/ client (uvicorn, 1 worker):   {ours['rate']:>10,.0f} lines/s delivered "
          f"({ours['rate'] / max(baseline.get('rate', 0), 1):.2f}x the SDK), {ours['dropped']:,} dropped "
          f"(reported), {ours['silent']:,} missing without a report, {ours['messages']:,} messages in {SECONDS:.0f} s")
    ok = ours["rate"] >= TARGET and ours["silent"] == 0
    print(f"{'PASS' if ok else 'FAIL'}: >= {TARGET:,} lines/s delivered and every line left out reported")


if __name__ == "__main__":
    main()
