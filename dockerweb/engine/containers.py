"""Engine calls for containers: one function per call, engine errors translated.

`container_create` takes the engine's own create body (`{Image, Cmd, HostConfig, …}`) so that
what dockerweb's safety check looked at is exactly what the engine receives."""
from __future__ import annotations

from .client import api
from .errors import engine_errors


class ClearedConfig(dict):
    """A create body that `dockerweb.containers.safety.container_config_check` has passed. Only that
    check makes these, and `container_create` takes nothing else: a new route that forgets the
    gate fails loudly instead of creating a container nobody judged."""


def container_create(host, *, name: str | None, config: ClearedConfig) -> str:
    """Create (not start) a container from the engine-shape body `config`; returns its full id."""
    if not isinstance(config, ClearedConfig):
        raise TypeError("container_create takes only a body cleared by containers.safety.container_config_check")
    with engine_errors(host):
        result = api(host).create_container_from_config(config, name=name or None)
    return result["Id"]


def container_start(host, container_id: str) -> None:
    with engine_errors(host):
        api(host).start(container_id)


def container_stop(host, container_id: str, *, timeout: int = 10) -> None:
    with engine_errors(host):
        api(host, timeout=timeout + 30).stop(container_id, timeout=timeout)


def container_restart(host, container_id: str, *, timeout: int = 10) -> None:
    with engine_errors(host):
        api(host, timeout=timeout + 30).restart(container_id, timeout=timeout)


def container_remove(host, container_id: str, *, force: bool = False, volumes: bool = False) -> None:
    with engine_errors(host):
        api(host).remove_container(container_id, force=force, v=volumes)


def container_using_volume(host, name: str) -> list[dict]:
    """Containers (running or not) that mount volume `name`: `[{id, name, state}]`."""
    with engine_errors(host):
        rows = api(host).containers(all=True, filters={"volume": name})
    return [{"id": r["Id"], "name": ((r.get("Names") or ["/?"])[0]).lstrip("/"), "state": r.get("State", "")}
            for r in rows]
