"""The engine's event stream, as a cancellable iterator of decoded event dicts."""
from __future__ import annotations

from .client import stream_client
from .errors import engine_errors


class EventStream:
    """Iterate for events; `close()` from any thread ends the iteration.

    Opening the stream contacts the engine: an engine that does not answer raises the
    application's 503 (`Unavailable`), like every other engine call."""

    def __init__(self, host, *, since=None, filters: dict | None = None):
        self._host = host
        self._client = stream_client(host)
        try:
            with engine_errors(host):
                self._stream = self._client.events(decode=True, since=since, filters=filters)
        except Exception:
            self._client.close()
            raise

    def __iter__(self):
        # A stream cut by the engine going away ends the iteration or raises a connection
        # error from deep inside requests/urllib3: both become the same 503 here.
        with engine_errors(self._host):
            yield from self._stream

    def close(self) -> None:
        try:
            self._stream.close()
        except Exception:  # closing a stream whose socket is already gone
            pass
        finally:
            self._client.close()


def engine_ping(host, *, timeout: int = 5) -> dict:
    """`{"version", "api_version", "swarm"}` of the engine, or raises an engine error."""
    from .client import docker_client

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
