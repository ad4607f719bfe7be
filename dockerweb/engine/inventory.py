"""Engine reads the mirror is built from: one function per engine call, returning the engine's
own dicts (docker inspect shapes)."""
from __future__ import annotations

from .client import api
from .errors import engine_errors


def network_list(host) -> list[dict]:
    with engine_errors(host):
        return api(host).networks()


def network_inspect(host, network_id: str) -> dict:
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
