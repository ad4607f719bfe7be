"""Engine reads the mirror is built from: one function per engine call, returning the engine's
own dicts (docker inspect shapes)."""
from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import quote

from django.conf import settings

from dockerweb.core.errors import AppError, BadRequest, Conflict, NotFound

from .client import API_VERSION, api, engine_url
from .errors import engine_errors, unreachable


def network_list(host) -> list[dict]:
    """Every network with its IPAM config and options (`docker network ls`, full shapes)."""
    with engine_errors(host):
        return api(host).networks()


def network_inspect(host, network_id: str) -> dict:
    """`docker network inspect` (with the endpoints of its containers)."""
    with engine_errors(host):
        return api(host).inspect_network(network_id)


def container_list(host) -> list[dict]:
    """Summaries of every container (running or not)."""
    with engine_errors(host):
        return api(host).containers(all=True)


def container_inspect(host, container_id: str) -> dict:
    with engine_errors(host):
        return api(host).inspect_container(container_id)


def volume_list(host) -> list[dict]:
    with engine_errors(host):
        return api(host).volumes().get("Volumes") or []


def volume_inspect(host, name: str) -> dict:
    with engine_errors(host):
        return api(host).inspect_volume(name)


def volume_usage(host) -> dict[str, int]:
    """{volume name: size in bytes} from `docker system df -v` (slow on big hosts; call sparingly)."""
    with engine_errors(host):
        data = api(host).df()
    return {v["Name"]: (v.get("UsageData") or {}).get("Size", -1) for v in data.get("Volumes") or []}


class _UnixConnection(http.client.HTTPConnection):
    """HTTP/1.1 over an engine's unix socket, kept alive between requests."""

    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def _refusal(status: int, body: bytes) -> AppError:
    try:
        message = json.loads(body).get("message", "")
    except ValueError:
        message = body.decode(errors="replace").strip()
    message = (message[:1].upper() + message[1:]) if message else "The engine refused the request."
    if status == 404:
        return NotFound(message)
    if status == 400:
        return BadRequest(message)
    return Conflict(message)


def container_inspect_many(host, container_ids: list[str]) -> list[dict]:
    """Inspect many containers, in order; ones removed meanwhile are left out.

    On a unix socket this speaks HTTP itself over one kept-alive connection: a few hundred
    inspects are what a reconcile spends most of its time on, and the SDK's request machinery
    costs several times what the engine takes to answer each one. Other hosts use the SDK."""
    url = engine_url(host)
    if not url.startswith("unix://"):
        found = []
        for cid in container_ids:
            try:
                found.append(container_inspect(host, cid))
            except NotFound:
                continue
        return found
    conn = _UnixConnection(url[len("unix://"):], timeout=settings.DOCKER_TIMEOUT)
    found = []
    try:
        for cid in container_ids:
            conn.request("GET", f"/v{API_VERSION}/containers/{quote(cid, safe='')}/json")
            response = conn.getresponse()
            body = response.read()
            if response.status == 200:
                found.append(json.loads(body))
            elif response.status != 404:
                raise _refusal(response.status, body)
    except (OSError, http.client.HTTPException) as exc:
        raise unreachable(host, exc) from exc
    finally:
        conn.close()
    return found
