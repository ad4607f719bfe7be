"""Agents: Celery workers started beside a host's engine (`scripts/serve.sh agent HOST`, `make
agent HOST=…`). An agent consumes only its host's queue (`host.<name>`) and reaches the engine
through the local socket it was started with (`engine.client.engine_url`), so work that touches
the host's volumes — backups, restores, imports read there, audits' probes — runs where the
volumes are, in place.

While it runs, an agent says so every `HEARTBEAT` seconds in Redis (`dockerweb:agent:<host>`,
expiring after `TTL`): work for the host goes to its queue only while that key is there, so an
agent that stops (or dies) sends new work back to the central workers at once (or within `TTL`).
Jobs an agent took but a dead agent left queued are handed to the central workers by the reaper
(`backups.services.job_reap`)."""
from __future__ import annotations

import json
import logging
import socket
import threading
import time

from django.conf import settings

from dockerweb.core import live

log = logging.getLogger(__name__)

HEARTBEAT = 5.0
TTL = 15


def agent_queue(host_name: str) -> str:
    return "host." + live.safe_name(host_name)


def _key(host_name: str) -> str:
    return "dockerweb:agent:" + live.safe_name(host_name)


def agent_status(host_name: str) -> dict | None:
    """`{name, last_seen}` of the host's agent while it is alive, else None."""
    try:
        raw = live.redis_client().get(_key(host_name))
    except Exception:
        return None
    return json.loads(raw) if raw else None


def agent_queue_for(host) -> str | None:
    """The queue of `host`'s agent if one is alive, else None (the central workers' queue)."""
    name = getattr(host, "name", None)
    if name and agent_status(name) is not None:
        return agent_queue(name)
    return None


class Heartbeat(threading.Thread):
    """In an agent process: keep the host's key alive; remove it on the way out."""

    def __init__(self, host_name: str, name: str):
        super().__init__(name="agent-heartbeat", daemon=True)
        self.host_name, self.agent_name = host_name, name
        self.stop_event = threading.Event()

    def beat(self) -> None:
        value = json.dumps({"name": self.agent_name, "last_seen": time.time()})
        live.redis_client().set(_key(self.host_name), value, ex=TTL)

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.beat()
            except Exception as exc:  # Redis away: the key expires, work goes to the central workers
                log.warning("agent heartbeat: %s", exc)
            self.stop_event.wait(HEARTBEAT)

    def halt(self) -> None:
        self.stop_event.set()
        try:
            client = live.redis_client()
            raw = client.get(_key(self.host_name))
            if raw and json.loads(raw).get("name") == self.agent_name:
                client.delete(_key(self.host_name))
        except Exception:
            pass


_heartbeat: Heartbeat | None = None


def agent_start(worker_name: str) -> None:
    """Called when a Celery worker is ready: in an agent (settings.AGENT_HOST), start beating."""
    global _heartbeat
    if not settings.AGENT_HOST or _heartbeat is not None:
        return
    _heartbeat = Heartbeat(settings.AGENT_HOST, worker_name or f"agent@{socket.gethostname()}")
    _heartbeat.beat()
    _heartbeat.start()
    log.info("agent of host %s: taking its queue %s, engine at %s", settings.AGENT_HOST,
             agent_queue(settings.AGENT_HOST), settings.AGENT_ENGINE)


def agent_stop() -> None:
    global _heartbeat
    if _heartbeat is not None:
        _heartbeat.halt()
        _heartbeat = None
