"""The event watcher: one thread per host follows the engine's event stream and applies each
event to the mirror; a full reconcile runs at start, after every reconnect and periodically.

Per host, a reader thread only moves events from the engine's stream into a queue; the host's
thread takes whatever has queued up, folds several events about the same object into one
(`docker run` alone sends create, connect, mount and start), and brings each object up to date
from the engine's current answer, so applying is idempotent and order-insensitive.

Some changes send no event at all (connecting or disconnecting a stopped container): every
`LIGHT_POLL` seconds one cheap call (the container list, with each container's networks,
mounts and ports) is compared with the last one by fingerprint, and just what differs is
brought up to date. When the host is quiet the thread pings the engine, so an engine that stops
answering without closing the stream is noticed too. An engine that went away is asked again
every `RETRY_EVERY` seconds with a short ping, so the host is followed again (and reconciled)
within about two seconds of the engine answering; one host's trouble never blocks another's.

Beside each host's watcher runs the host's topology producer (`topology.producer`), which turns
the mirror changes into live patches."""
from __future__ import annotations

import logging
import queue
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from dockerweb.core.errors import AppError
from dockerweb.engine.events import engine_ping

from . import services
from .leases import Leases
from .models import Host

log = logging.getLogger(__name__)

PING_EVERY = 10.0  # seconds of quiet after which the engine is pinged
RETRY_EVERY = 0.5  # seconds between short pings of an engine that went away
RETRY_PING_TIMEOUT = 2  # seconds such a ping may take
BACKOFF_MAX = 30.0  # for trouble on our side (the database): retries slow down up to this
HOSTS_POLL = 1.0  # seconds between looks at the Host table

# Container actions that change nothing the mirror holds (exec_* also come from health checks).
_CONTAINER_NOISE = {"exec_create", "exec_start", "exec_die", "exec_detach", "top", "attach", "detach", "resize",
                    "export", "commit", "copy", "archive-path", "extract-to-dir"}
_END = object()


def event_target(event: dict) -> tuple[str, str, str] | None:
    """(kind, id, "sync" | "forget") of the mirror object an engine event changes, or None.

    A network connect or disconnect changes the container's endpoints, not the network's own
    attributes, so it is the container that is brought up to date."""
    kind = event.get("Type")
    action = (event.get("Action") or event.get("status") or "").split(":")[0].strip()
    actor = event.get("Actor") or {}
    ident = actor.get("ID") or event.get("id") or ""
    attrs = actor.get("Attributes") or {}
    if action == "prune" and kind in ("container", "network", "volume"):
        # Some engines (20.10 for volumes) send no destroy per pruned object: drop what is gone.
        return (kind, "*", "prune")
    if not ident:
        return None
    if kind == "container":
        if action in _CONTAINER_NOISE:
            return None
        return ("container", ident, "forget" if action == "destroy" else "sync")
    if kind == "network":
        if action in ("connect", "disconnect"):
            return ("container", attrs["container"], "sync") if attrs.get("container") else None
        return ("network", ident, "forget" if action in ("destroy", "remove") else "sync")
    if kind == "volume":
        if action in ("mount", "unmount"):
            return None  # the container's own events carry its mount rows
        return ("volume", ident, "forget" if action == "destroy" else "sync")
    return None


def fold(events: list[dict]) -> list[tuple[str, str, str]]:
    """One step per object, in the order of each object's last event, with its last action."""
    steps: dict[tuple[str, str], str] = {}
    for event in events:
        target = event_target(event)
        if target is None:
            continue
        kind, ident, what = target
        steps.pop((kind, ident), None)
        steps[(kind, ident)] = what
    return [(kind, ident, what) for (kind, ident), what in steps.items()]


def apply_step(host: Host, kind: str, ident: str, what: str) -> None:
    if what == "prune":
        services.mirror_forget_missing(host=host, kind=kind)
    elif kind == "container":
        if what == "forget":
            services.container_forget(host=host, container_id=ident)
        else:
            services.container_sync(host=host, container_id=ident)
    elif kind == "network":
        if what == "forget":
            services.network_forget(host=host, network_id=ident)
        else:
            services.network_sync(host=host, network_id=ident)
    elif kind == "volume":
        if what == "forget":
            services.volume_forget(host=host, name=ident)
        else:
            services.volume_sync(host=host, name=ident)


def host_key(host: Host) -> tuple:
    """What a watcher thread is bound to: a changed URL or TLS material, or a host removed and
    registered again under the same primary key, needs a new thread."""
    return (host.pk, host.created, host.url, host.tls_ca, host.tls_cert, host.tls_key, host.tls_verify)


class HostWatcher(threading.Thread):
    def __init__(self, host_id: int, stop: threading.Event | None = None, key: tuple | None = None,
                 watcher: str = ""):
        super().__init__(name=f"watch-{host_id}", daemon=True)
        self.host_id = host_id
        self.key = key
        self.watcher = watcher  # this process's name, shown on the host
        self.stop_event = stop or threading.Event()
        self.stream = None
        self.needs_reconcile = False

    def host(self) -> Host | None:
        """The host row, or None once it was removed or re-pointed (another thread takes over)."""
        host = Host.objects.filter(pk=self.host_id).first()
        if host is None or (self.key is not None and host_key(host) != self.key):
            return None
        return host

    def run(self) -> None:
        from dockerweb.topology.producer import TopologyProducer

        producer = TopologyProducer(self.host_id, self.stop_event)
        producer.start()
        try:
            self._watch()
        finally:
            self.stop_event.set()
            producer.join(timeout=5)
            try:
                # Only while the row still names this process: a successor (this watcher lost the
                # lease, or stopped slowly) has written its own name and must keep it.
                services.host_unwatched(host_id=self.host_id, watcher=self.watcher)
            except Exception:
                pass
            connection.close()

    def _watch(self) -> None:
        from dockerweb.engine.events import EventStream

        backoff = RETRY_EVERY
        while not self.stop_event.is_set():
            close_old_connections()
            host = self.host()
            if host is None:
                break
            events: queue.SimpleQueue = queue.SimpleQueue()
            reader = None
            try:
                # Subscribe first, then reconcile: an event that happens during the reconcile is
                # queued and applied after it (idempotent), so nothing falls between the two.
                # The light poll's baseline is the very container list the reconcile used.
                self.stream = EventStream(host, since=int(time.time()),
                                          filters={"type": ["container", "network", "volume"]})
                reader = threading.Thread(target=self._read, args=(self.stream, events), daemon=True,
                                          name=f"events-{host.name}")
                reader.start()
                poll = services.LightPoll(host)
                poll.prime(services.host_reconcile(host=host).container_summaries)
                services.host_check(host=host)  # the engine may have been upgraded while away
                services.host_watching(host=host, since=timezone.now(), watcher=self.watcher)
                log.info("watching %s (%s)", host.name, host.url)
                backoff = RETRY_EVERY
                self._follow(host, events, poll)
            except Exception as exc:
                if self.stop_event.is_set():
                    break
                engine_gone = isinstance(exc, ConnectionError) or (isinstance(exc, AppError) and exc.status == 503)
                message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                if engine_gone:
                    log.warning("host %s: %s; asking again every %.1fs", host.name, message, RETRY_EVERY)
                else:  # our side (the database, a bug): the engine is fine, say so in the log only
                    log.exception("host %s: the mirror could not be updated; retrying in %.0fs", host.name, backoff)
                try:
                    close_old_connections()
                    if self.host() is None:
                        break
                    services.host_watching(host=host, since=None, watcher=self.watcher)
                    if engine_gone:
                        services.host_mark(host=host, reachable=False, error=message)
                except Exception:
                    log.exception("could not record the state of %s", host.name)
                if engine_gone:
                    self._close_stream()
                    self._wait_for_engine(host)
                else:
                    self.stop_event.wait(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX)
            finally:
                self._close_stream()
                if reader is not None:
                    reader.join(timeout=5)

    def _wait_for_engine(self, host: Host) -> None:
        """Until the engine answers again (or the watcher is halted): a short ping every
        `RETRY_EVERY` seconds costs next to nothing and brings the host back within ~2 s."""
        while not self.stop_event.wait(RETRY_EVERY):
            try:
                engine_ping(host, timeout=RETRY_PING_TIMEOUT)
                return
            except AppError:
                continue

    @staticmethod
    def _read(stream, events: queue.SimpleQueue) -> None:
        try:
            for event in stream:
                events.put(event)
            events.put(_END)
        except Exception as exc:
            events.put(exc)

    def _follow(self, host: Host, events: queue.SimpleQueue, poll: "services.LightPoll") -> None:
        """Apply queued events until the stream ends (raises) or the watcher is halted; between
        events, the light poll, the periodic reconcile and the quiet-time ping."""
        last_reconcile = last_contact = last_poll = time.monotonic()
        light_every = settings.LIGHT_POLL
        while not self.stop_event.is_set():
            now = time.monotonic()
            wait = max(0.05, min(1.0, last_poll + light_every - now)) if light_every else 1.0
            try:
                batch = [events.get(timeout=wait)]
            except queue.Empty:
                batch = []
            while True:
                try:
                    batch.append(events.get_nowait())
                except queue.Empty:
                    break
            end = next((b for b in batch if b is _END or isinstance(b, BaseException)), None)
            self._apply(host, [b for b in batch if isinstance(b, dict)])
            if end is not None:
                if self.stop_event.is_set():
                    return
                if isinstance(end, BaseException):
                    raise end
                raise ConnectionError(f"the event stream of {host.name} ended")
            now = time.monotonic()
            if batch:
                last_contact = now
            if self.needs_reconcile or now - last_reconcile > settings.RECONCILE_EVERY:
                self.needs_reconcile = False
                poll.prime(services.host_reconcile(host=host).container_summaries)
                last_reconcile = last_contact = last_poll = time.monotonic()
            elif light_every and now - last_poll >= light_every:
                # Changes no event announced: one list call, compared by fingerprint.
                for cid in poll.look():
                    self._apply_step(host, ("container", cid, "sync"))
                last_poll = last_contact = time.monotonic()
            elif now - last_contact > PING_EVERY:
                if not services.host_check(host=host):
                    raise ConnectionError(host.last_error or "the engine does not answer")
                last_contact = now

    def _apply(self, host: Host, batch: list[dict]) -> None:
        for step in fold(batch):
            self._apply_step(host, step)

    def _apply_step(self, host: Host, step: tuple[str, str, str]) -> None:
        try:
            apply_step(host, *step)
        except AppError as exc:
            if exc.status == 503:
                raise
            log.warning("%s %s on %s not applied: %s", step[0], step[1], host.name, exc.message)
        except Exception:
            # A database hiccup must not lose the change for good: the next turn reconciles.
            log.exception("%s %s on %s not applied; reconciling", step[0], step[1], host.name)
            self.needs_reconcile = True
            close_old_connections()

    def _close_stream(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception:
                pass

    def halt(self) -> None:
        self.stop_event.set()
        self._close_stream()


def watch_all(stop: threading.Event, poll: float = HOSTS_POLL, leases: Leases | None = None) -> None:
    """Follow (with a watcher thread and a patch producer each) every host whose lease this
    process holds or can take (`leases`: several watch processes share the hosts, one each),
    until `stop` is set. Leases are renewed every `poll` seconds; hosts added, removed or
    re-pointed, and hosts whose holder died, are picked up within that time (plus the lease's
    time to live)."""
    leases = leases or Leases()
    log.info("watcher %s: sharing hosts by leases of %.0f s", leases.me, settings.WATCHER_LEASE_SECONDS)
    watchers: dict[tuple, HostWatcher] = {}
    stopping: dict[tuple, HostWatcher] = {}  # halted, maybe not yet ended: no second thread meanwhile
    names: dict[tuple, str] = {}
    try:
        while not stop.is_set():
            close_old_connections()
            try:
                hosts = {host_key(h): h.name for h in Host.objects.all()}
            except Exception:
                # The database away: the leases of what runs are still renewed (else another
                # watcher would take them while these threads go on), nothing new is taken.
                log.exception("could not read the hosts; keeping the hosts followed")
                hosts = {key: names[key] for key in watchers}
            held = set()
            for key, name in hosts.items():
                try:
                    if leases.hold(name):
                        held.add(key)
                except Exception as exc:  # Redis away: keep what runs, take nothing new
                    log.warning("lease of %s: %s", name, exc)
                    if key in watchers:
                        held.add(key)
            for key in set(watchers) - held:
                log.info("no longer following %s", names.get(key))
                stopping[key] = watchers.pop(key)
                stopping[key].halt()
            for key in [k for k, w in stopping.items() if not w.is_alive()]:
                del stopping[key]
            for key in held:
                w = watchers.get(key)
                if key in stopping:
                    continue  # its previous thread is still ending
                if w is None or not w.is_alive():
                    names[key] = hosts[key]
                    watchers[key] = HostWatcher(key[0], key=key, watcher=leases.me)
                    watchers[key].start()
            stop.wait(poll)
    finally:
        for w in watchers.values():
            w.halt()
        for w in watchers.values():
            w.join(timeout=5)
        for key in watchers:
            try:
                leases.release(names[key])
            except Exception:
                pass
