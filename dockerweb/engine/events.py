"""The engine's event stream, as a cancellable iterator of decoded event dicts."""
from __future__ import annotations

from .client import stream_client


class EventStream:
    """Iterate for events; `close()` from any thread ends the iteration."""

    def __init__(self, host, *, since=None, filters: dict | None = None):
        self._client = stream_client(host)
        self._stream = self._client.events(decode=True, since=since, filters=filters)

    def __iter__(self):
        return iter(self._stream)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._client.close()


def engine_ping(host, *, timeout: int = 5) -> dict:
    """`{"version", "api_version", "swarm"}` of the engine, or raises an engine error."""
    from .client import docker_client
    from .errors import engine_errors

    with engine_errors(host):
        api = docker_client(host, timeout=timeout).api
        version = api.version()
        info = api.info()
    return {
        "version": version.get("Version", ""),
        "api_version": version.get("ApiVersion", ""),
        "swarm": (info.get("Swarm") or {}).get("LocalNodeState", "inactive"),
        "swarm_manager": bool((info.get("Swarm") or {}).get("ControlAvailable")),
        "name": info.get("Name", ""),
        "docker_root_dir": info.get("DockerRootDir", ""),
    }
