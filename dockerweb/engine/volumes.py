"""Engine calls for volumes: one function per call, engine errors translated."""
from __future__ import annotations

from .client import api
from .errors import engine_errors


def volume_create(host, *, name: str, driver: str = "local", driver_opts: dict | None = None,
                  labels: dict | None = None) -> dict:
    """Create a volume; returns the engine's inspect of it."""
    with engine_errors(host):
        return api(host).create_volume(name=name or None, driver=driver or "local", driver_opts=driver_opts or None,
                                       labels=labels or None)


def volume_drivers(host) -> list[str]:
    """The volume drivers the engine offers (`docker info`: Plugins.Volume). Asking the engine
    to create a volume with another one makes it look for a plugin for about 15 s first."""
    with engine_errors(host):
        info = api(host).info()
    return list((info.get("Plugins") or {}).get("Volume") or [])


def volume_remove(host, name: str, *, force: bool = False) -> None:
    with engine_errors(host):
        api(host).remove_volume(name, force=force)


def volume_dangling(host) -> list[dict]:
    """Volumes no container (running or stopped) refers to: what a prune would remove."""
    with engine_errors(host):
        return api(host).volumes(filters={"dangling": True}).get("Volumes") or []
