"""Writes of the mirror. Every row here comes from the engine's own answer (rule 1).

- `*_sync` refresh one object from the engine (used after a dockerweb write and by the watcher);
- `*_forget` drop one object the engine no longer has;
- `host_reconcile` makes a whole host's mirror equal to the engine, in few queries;
- hosts are registered with `host_create` (admins) or `host_register` (set-up scripts).

After each change a `mirror.change` message names host, kind and id on the host's group."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from dockerweb.core import live
from dockerweb.core.errors import BadRequest, Conflict, NotFound
from dockerweb.core.services import change
from dockerweb.engine import inventory as engine
from dockerweb.engine.client import forget as engine_forget
from dockerweb.engine.events import engine_ping

from . import parse
from .models import Container, Endpoint, Host, Mount, Network, PortBinding, Volume

log = logging.getLogger(__name__)


def announce(host: Host, kind: str, ident: str, op: str) -> None:
    """One message per mirror change, for the live graph and open pages."""
    live.publish(live.host_group(host.name), {"type": "mirror.change", "host": host.name, "kind": kind, "id": ident, "op": op})


# --- hosts -------------------------------------------------------------------------------------

def host_mark(*, host: Host, reachable: bool, error: str = "", facts: dict | None = None) -> None:
    """Record whether the host's engine answered. Only writes when something changed."""
    updates: dict = {}
    status = Host.Status.OK if reachable else Host.Status.UNREACHABLE
    if host.status != status:
        updates["status"] = status
    if reachable:
        updates["last_seen"] = timezone.now()
    if host.last_error != error:
        updates["last_error"] = error
    if facts:
        if facts.get("version") and facts["version"] != host.engine_version:
            updates["engine_version"] = facts["version"]
        if facts != host.info:
            updates["info"] = facts
    if updates:
        for k, v in updates.items():
            setattr(host, k, v)
        Host.objects.filter(pk=host.pk).update(**updates)
        if "status" in updates:
            announce(host, "host", host.name, "update")


def host_check(*, host: Host) -> bool:
    """Ping the engine and record the result."""
    from dockerweb.core.errors import AppError

    try:
        facts = engine_ping(host)
    except AppError as exc:
        host_mark(host=host, reachable=False, error=exc.message)
        return False
    host_mark(host=host, reachable=True, facts=facts)
    return True


def _validate_url(url: str) -> None:
    if not (url.startswith("unix://") or url.startswith("tcp://") or url.startswith("ssh://")):
        raise BadRequest("The URL must start with unix:// or tcp://.", field="url")
    if url.startswith("ssh://"):
        raise BadRequest("ssh:// engines are not supported; use tcp:// with TLS.", field="url")


def host_register(*, name: str, url: str) -> Host:
    """Set-up scripts: make host `name` point at `url` (no activity row: no person asked)."""
    _validate_url(url)
    host, created = Host.objects.get_or_create(name=name, defaults={"url": url})
    if not created and host.url != url:
        host.url = url
        host.save(update_fields=["url"])
        engine_forget(host)
    return host


def host_create(*, actor, name: str, url: str, tls_ca: str = "", tls_cert: str = "", tls_key: str = "",
                tls_verify: bool = True) -> Host:
    """Register an engine. The engine must answer before it is saved."""
    with change(user=actor, action="host.create", host=name, target=name, detail={"url": url}):
        _validate_url(url)
        if Host.objects.filter(name=name).exists():
            raise Conflict(f"A host named {name!r} already exists.", field="name")
        host = Host(name=name, url=url, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key, tls_verify=tls_verify)
        try:
            host.full_clean()
        except Exception as exc:
            msgs = getattr(exc, "message_dict", {})
            f, m = next(iter(msgs.items()), ("name", ["Invalid value."]))
            raise BadRequest(m[0], field=f) from exc
        facts = engine_ping(host)  # raises 503 if it does not answer
        host.status, host.last_seen, host.engine_version, host.info = Host.Status.OK, timezone.now(), facts["version"], facts
        host.save()
    host_reconcile(host=host)
    return host


def host_remove(*, actor, host: Host) -> None:
    """Stop managing a host (its engine is untouched)."""
    with change(user=actor, action="host.remove", host=host, target=host.name):
        engine_forget(host)
        host.delete()


# --- single objects ----------------------------------------------------------------------------

def network_sync(*, host: Host, network_id: str) -> Network | None:
    """Refresh one network from the engine; forget it if the engine no longer has it."""
    try:
        raw = engine.network_inspect(host, network_id)
    except NotFound:
        network_forget(host=host, network_id=network_id)
        return None
    fields = parse.network_fields(raw)
    network, created = Network.objects.update_or_create(host=host, engine_id=fields.pop("engine_id"), defaults=fields)
    # Endpoints whose network arrived after them.
    Endpoint.objects.filter(container__host=host, network__isnull=True, network_engine_id=network.engine_id).update(network=network)
    announce(host, "network", network.engine_id, "add" if created else "update")
    return network


def network_forget(*, host: Host, network_id: str) -> None:
    deleted = Network.objects.filter(host=host, engine_id=network_id).delete()[0]
    if not deleted:
        deleted = Network.objects.filter(host=host, name=network_id).delete()[0]
    if deleted:
        announce(host, "network", network_id, "remove")


def _replace_children(container: Container, raw: dict, networks_by_id: dict[str, Network] | None = None,
                      volumes_by_name: dict[str, Volume] | None = None) -> None:
    host = container.host
    eps = parse.endpoints_of(raw)
    if networks_by_id is None:
        ids = [e["network_engine_id"] for e in eps if e["network_engine_id"]]
        networks_by_id = {n.engine_id: n for n in Network.objects.filter(host=host, engine_id__in=ids)}
    mounts = parse.mounts_of(raw)
    if volumes_by_name is None:
        names = [m["name"] for m in mounts if m["type"] == "volume" and m["name"]]
        volumes_by_name = {v.name: v for v in Volume.objects.filter(host=host, name__in=names)}
    Endpoint.objects.filter(container=container).delete()
    Mount.objects.filter(container=container).delete()
    PortBinding.objects.filter(container=container).delete()
    Endpoint.objects.bulk_create([Endpoint(container=container, network=networks_by_id.get(e["network_engine_id"]), **e) for e in eps])
    Mount.objects.bulk_create([Mount(container=container, volume=volumes_by_name.get(m["name"]) if m["type"] == "volume" else None, **m)
                               for m in mounts])
    PortBinding.objects.bulk_create([PortBinding(container=container, **p) for p in parse.ports_of(raw)])


def container_sync(*, host: Host, container_id: str) -> Container | None:
    """Refresh one container, its endpoints, mounts and ports from the engine."""
    try:
        raw = engine.container_inspect(host, container_id)
    except NotFound:
        container_forget(host=host, container_id=container_id)
        return None
    fields = parse.container_fields(raw)
    # Volumes created implicitly by `docker run -v` may not be mirrored yet.
    for m in parse.mounts_of(raw):
        if m["type"] == "volume" and m["name"] and not Volume.objects.filter(host=host, name=m["name"]).exists():
            volume_sync(host=host, name=m["name"])
    with transaction.atomic():
        container, created = Container.objects.update_or_create(host=host, engine_id=fields.pop("engine_id"), defaults=fields)
        _replace_children(container, raw)
    announce(host, "container", container.engine_id, "add" if created else "update")
    return container


def container_forget(*, host: Host, container_id: str) -> None:
    deleted = Container.objects.filter(host=host, engine_id=container_id).delete()[0]
    if deleted:
        announce(host, "container", container_id, "remove")


def volume_sync(*, host: Host, name: str) -> Volume | None:
    try:
        raw = engine.volume_inspect(host, name)
    except NotFound:
        volume_forget(host=host, name=name)
        return None
    fields = parse.volume_fields(raw)
    volume, created = Volume.objects.update_or_create(host=host, name=fields.pop("name"), defaults=fields)
    Mount.objects.filter(container__host=host, type=Mount.Type.VOLUME, name=volume.name, volume__isnull=True).update(volume=volume)
    announce(host, "volume", volume.name, "add" if created else "update")
    return volume


def volume_forget(*, host: Host, name: str) -> None:
    deleted = Volume.objects.filter(host=host, name=name).delete()[0]
    if deleted:
        announce(host, "volume", name, "remove")


# --- whole host --------------------------------------------------------------------------------

@dataclass
class ReconcileResult:
    added: dict = field(default_factory=lambda: {"network": 0, "container": 0, "volume": 0})
    updated: dict = field(default_factory=lambda: {"network": 0, "container": 0, "volume": 0})
    removed: dict = field(default_factory=lambda: {"network": 0, "container": 0, "volume": 0})


def _upsert(model, host: Host, key: str, rows: list[dict], result: ReconcileResult, kind: str) -> dict:
    """Create, update and delete rows of `model` for `host` so they equal `rows`; returns {key: obj}."""
    existing = {getattr(o, key): o for o in model.objects.filter(host=host)}
    wanted = {r[key]: r for r in rows}
    to_create, to_update, update_fields = [], [], set()
    for k, r in wanted.items():
        obj = existing.get(k)
        if obj is None:
            to_create.append(model(host=host, **r))
            continue
        changed = [f for f, v in r.items() if getattr(obj, f) != v]
        if changed:
            for f in changed:
                setattr(obj, f, r[f])
            update_fields.update(changed)
            to_update.append(obj)
    gone = [o.pk for k, o in existing.items() if k not in wanted]
    if gone:
        model.objects.filter(pk__in=gone).delete()
    if to_create:
        model.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        model.objects.bulk_update(to_update, sorted(update_fields), batch_size=500)
    result.added[kind] += len(to_create)
    result.updated[kind] += len(to_update)
    result.removed[kind] += len(gone)
    return {getattr(o, key): o for o in model.objects.filter(host=host)}


def host_reconcile(*, host: Host) -> ReconcileResult:
    """Make the host's mirror equal to the engine: list networks and volumes, list and inspect
    every container, then write all differences in a handful of bulk queries."""
    result = ReconcileResult()
    raw_networks = engine.network_list(host)
    raw_volumes = engine.volume_list(host)
    raw_containers = []
    for summary in engine.container_list(host):
        try:
            raw_containers.append(engine.container_inspect(host, summary["Id"]))
        except NotFound:
            continue  # removed between list and inspect
    facts = None
    try:
        facts = engine_ping(host)
    except Exception:  # reachability is recorded by host_mark below
        pass
    with transaction.atomic():
        networks = _upsert(Network, host, "engine_id", [parse.network_fields(n) for n in raw_networks], result, "network")
        volumes = _upsert(Volume, host, "name", [parse.volume_fields(v) for v in raw_volumes], result, "volume")
        containers = _upsert(Container, host, "engine_id", [parse.container_fields(c) for c in raw_containers], result, "container")
        # Children: replaced wholesale per host (cheap, and exact).
        Endpoint.objects.filter(container__host=host).delete()
        Mount.objects.filter(container__host=host).delete()
        PortBinding.objects.filter(container__host=host).delete()
        eps, mounts, ports = [], [], []
        for raw in raw_containers:
            c = containers[raw["Id"]]
            for e in parse.endpoints_of(raw):
                eps.append(Endpoint(container=c, network=networks.get(e["network_engine_id"]), **e))
            for m in parse.mounts_of(raw):
                mounts.append(Mount(container=c, volume=volumes.get(m["name"]) if m["type"] == "volume" else None, **m))
            for p in parse.ports_of(raw):
                ports.append(PortBinding(container=c, **p))
        Endpoint.objects.bulk_create(eps, batch_size=500)
        Mount.objects.bulk_create(mounts, batch_size=500)
        PortBinding.objects.bulk_create(ports, batch_size=500)
    host_mark(host=host, reachable=True, facts=facts)
    if any(result.added.values()) or any(result.updated.values()) or any(result.removed.values()):
        announce(host, "host", host.name, "reconcile")
    return result
