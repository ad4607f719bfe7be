"""The event watcher: one thread per host follows the engine's event stream and applies each
event to the mirror; a full reconcile runs at start, after every reconnect and periodically.
If the engine goes away the host is marked unreachable and the thread retries with backoff;
one host's trouble never blocks another's thread."""
from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections, connection

from dockerweb.core.errors import AppError

from . import services
from .models import Host

log = logging.getLogger(__name__)

RECONCILE_EVERY = 300.0  # seconds between periodic full reconciles
BACKOFF_MAX = 30.0


def apply_event(host: Host, event: dict) -> None:
    """Bring the mirror up to date with one engine event."""
    kind = event.get("Type")
    action = (event.get("Action") or event.get("status") or "").split(":")[0].strip()
    actor = event.get("Actor") or {}
    ident = actor.get("ID") or event.get("id") or ""
    attrs = actor.get("Attributes") or {}
    if kind == "container":
        if action in ("exec_create", "exec_start", "exec_die", "exec_detach", "top", "attach", "resize",
                      "export", "commit", "copy", "archive-path", "extract-to-dir", "health_status"):
            return
        if action == "destroy":
            services.container_forget(host=host, container_id=ident)
        else:
            services.container_sync(host=host, container_id=ident)
    elif kind == "network":
        if action == "destroy":
            services.network_forget(host=host, network_id=ident)
        else:
            services.network_sync(host=host, network_id=ident)
            if action in ("connect", "disconnect") and attrs.get("container"):
                services.container_sync(host=host, container_id=attrs["container"])
    elif kind == "volume":
        if action == "destroy":
            services.volume_forget(host=host, name=ident)
        elif action == "create":
            services.volume_sync(host=host, name=ident)
        # mount/unmount: the container's own events carry the mount rows.


class HostWatcher(threading.Thread):
    def __init__(self, host_id: int, stop: threading.Event):
        super().__init__(name=f"watch-{host_id}", daemon=True)
        self.host_id = host_id
        self.stop_event = stop
        self.stream = None

    def host(self) -> Host | None:
        return Host.objects.filter(pk=self.host_id).first()

    def run(self) -> None:
        from dockerweb.engine.events import EventStream

        backoff = 1.0
        while not self.stop_event.is_set():
            close_old_connections()
            host = self.host()
            if host is None:
                return
            try:
                since = time.time()
                # Subscribe first, then reconcile: an event that happens during the reconcile
                # is replayed from `since` and applied again (idempotent).
                self.stream = EventStream(host, since=int(since))
                services.host_reconcile(host=host)
                last_reconcile = time.monotonic()
                log.info("watching %s (%s)", host.name, host.url)
                backoff = 1.0
                for event in self.stream:
                    if self.stop_event.is_set():
                        break
                    try:
                        apply_event(host, event)
                    except AppError as exc:
                        if exc.status == 503:
                            raise
                        log.warning("event on %s not applied: %s", host.name, exc.message)
                    if time.monotonic() - last_reconcile > RECONCILE_EVERY:
                        services.host_reconcile(host=host)
                        last_reconcile = time.monotonic()
                if not self.stop_event.is_set():
                    raise ConnectionError("event stream ended")
            except Exception as exc:
                if self.stop_event.is_set():
                    break
                message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                log.warning("host %s: %s; retrying in %.0fs", host.name, message, backoff)
                try:
                    services.host_mark(host=host, reachable=False, error=message)
                except Exception:
                    log.exception("could not record that %s is unreachable", host.name)
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
            finally:
                if self.stream is not None:
                    try:
                        self.stream.close()
                    except Exception:
                        pass
                    self.stream = None
        connection.close()

    def halt(self) -> None:
        self.stop_event.set()
        if self.stream is not None:
            try:
                self.stream.close()
            except Exception:
                pass


def watch_all(stop: threading.Event, poll: float = 2.0) -> None:
    """Run a watcher per host until `stop` is set; hosts added or removed are picked up."""
    watchers: dict[int, HostWatcher] = {}
    while not stop.is_set():
        close_old_connections()
        ids = set(Host.objects.values_list("pk", flat=True))
        for pk in ids - set(watchers):
            w = HostWatcher(pk, threading.Event())
            watchers[pk] = w
            w.start()
        for pk in set(watchers) - ids:
            watchers.pop(pk).halt()
        for pk, w in list(watchers.items()):
            if not w.is_alive() and pk in ids:
                watchers[pk] = HostWatcher(pk, threading.Event())
                watchers[pk].start()
        stop.wait(poll)
    for w in watchers.values():
        w.halt()
    for w in watchers.values():
        w.join(timeout=5)
