"""The stats API against the real engine, checked against the docker CLI's own `docker stats`
(the reference for how the figures are reckoned), and the engine's stats stream."""
from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest


from .conftest import IMAGE

pytestmark = pytest.mark.django_db

BUSY = "sleep 600 & sleep 600 & while :; do :; done"
UNITS = {"b": 1, "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3}


def size(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)\s*([A-Za-z]+)", text.strip()).groups()
    return float(number) * UNITS[unit.lower()]


def cli_stats(name: str) -> dict:
    """`docker stats --no-stream` of the real CLI, against the test engine."""
    out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{json .}}", name], capture_output=True,
                         text=True, timeout=60, env={**os.environ}, check=True).stdout
    row = json.loads(out)
    usage, limit = row["MemUsage"].split(" / ")
    rx, tx = row["NetIO"].split(" / ")
    read, write = row["BlockIO"].split(" / ")
    return {"cpu_percent": float(row["CPUPerc"].rstrip("%")), "memory_usage": size(usage), "memory_limit": size(limit),
            "net_rx": size(rx), "net_tx": size(tx), "block_read": size(read), "block_write": size(write),
            "pids": int(row["PIDs"])}


def stats(client, name: str):
    return client.get(f"/api/hosts/local/containers/{name}/stats/")


def test_figures_are_those_of_docker_stats(host, engine, api_as):
    engine.containers.run(IMAGE, ["sh", "-c", BUSY], name="dw-stats-busy", detach=True, mem_limit="64m")
    time.sleep(1.5)
    r = stats(api_as("viewer"), "dw-stats-busy")
    assert r.status_code == 200, r.content
    ours, theirs = r.json(), cli_stats("dw-stats-busy")
    assert set(ours) == {"cpu_percent", "memory_usage", "memory_limit", "net_rx", "net_tx", "block_read",
                         "block_write", "pids", "read"}
    assert ours["memory_limit"] == theirs["memory_limit"] == 64 * 1024 ** 2
    assert ours["pids"] == theirs["pids"] == 3
    # A busy loop: most of a CPU in both readings (two cores, shared with the rest of the tests).
    assert ours["cpu_percent"] > 20 and theirs["cpu_percent"] > 20, (ours, theirs)
    # Memory without the page cache, as the CLI reckons it: the two readings a moment apart agree.
    assert abs(ours["memory_usage"] - theirs["memory_usage"]) < max(512 * 1024, 0.5 * theirs["memory_usage"])
    assert 0 < ours["memory_usage"] < ours["memory_limit"]
    for key in ("net_rx", "net_tx", "block_read", "block_write"):
        assert abs(ours[key] - theirs[key]) <= max(2000, 0.1 * theirs[key]), (key, ours, theirs)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", ours["read"])


def test_network_bytes_count_the_containers_traffic(host, engine, api_as):
    net = engine.networks.create("dw-stats-net")
    engine.containers.run(IMAGE, ["sleep", "600"], name="dw-stats-peer", detach=True, network=net.name)
    pinger = engine.containers.run(IMAGE, ["sleep", "600"], name="dw-stats-pinger", detach=True, network=net.name)
    viewer = api_as("viewer")
    before = stats(viewer, "dw-stats-pinger").json()
    code, out = pinger.exec_run(["ping", "-c", "5", "-i", "0.2", "-s", "1400", "dw-stats-peer"])
    assert code == 0, out
    after = stats(viewer, "dw-stats-pinger").json()
    # Five requests out and five replies in, each over 1400 bytes.
    assert after["net_tx"] - before["net_tx"] >= 5 * 1400
    assert after["net_rx"] - before["net_rx"] >= 5 * 1400


def test_a_container_that_is_not_running_has_no_figures(host, engine, api_as):
    c = engine.containers.run(IMAGE, ["true"], name="dw-stats-exited", detach=True)
    c.wait(timeout=30)
    r = stats(api_as("viewer"), "dw-stats-exited")
    assert r.status_code == 409
    assert "not running" in r.json()["detail"] and "dw-stats-exited" in r.json()["detail"]


def test_unknown_container_is_404(host, api_as):
    viewer = api_as("viewer")
    for path in ("/api/hosts/local/containers/nosuch/stats/", "/api/hosts/nosuch/containers/x/stats/",
                 "/api/hosts/local/containers/-x/stats/"):
        r = viewer.get(path)
        assert r.status_code == 404 and r.json()["detail"], path
