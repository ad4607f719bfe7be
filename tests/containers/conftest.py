"""Helpers for container tests: run through the API, reach published ports inside the engine's
network namespace, run commands in containers with the docker SDK."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

IMAGE = "dockerweb-test/busybox:latest"
HTTPD = "httpd -f -p 80 -h /var/www"
HELLO = "hello from dockerweb-test"


def netns_get(port: int, path: str = "/", host_ip: str = "127.0.0.1", timeout: int = 5) -> str:
    """HTTP GET to a published port, from inside the test engine's network namespace."""
    netns = f"/var/run/netns/dw-{os.environ['DOCKERWEB_TEST_ENGINE']}"
    fetch = ("import sys, urllib.request; "
             "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read().decode())")
    out = subprocess.run(["nsenter", f"--net={netns}", sys.executable, "-c", fetch, f"http://{host_ip}:{port}{path}",
                          str(timeout)], capture_output=True, text=True, timeout=timeout + 10)
    if out.returncode != 0:
        raise AssertionError(f"GET {host_ip}:{port}{path} failed: {out.stderr.strip()[-300:]}")
    return out.stdout


def netns_get_retry(port: int, tries: int = 30) -> str:
    import time

    last = None
    for _ in range(tries):
        try:
            return netns_get(port)
        except AssertionError as exc:
            last = exc
            time.sleep(0.2)
    raise last


def exec_out(engine, container: str, cmd) -> tuple[int, str]:
    code, out = engine.containers.get(container).exec_run(cmd)
    return code, out.decode(errors="replace")


@pytest.fixture
def run(api_as, host):
    """`run(role, **fields)` → the API response of POST /api/hosts/local/containers/."""
    clients = {}

    def do(role="operator", **fields):
        if role not in clients:
            clients[role] = api_as(role, username=f"{role}-runner")
        fields.setdefault("image", IMAGE)
        return clients[role].post("/api/hosts/local/containers/", fields, format="json")

    do.client = lambda role="operator": clients.get(role) or clients.setdefault(role, api_as(role, username=f"{role}-runner"))
    return do
