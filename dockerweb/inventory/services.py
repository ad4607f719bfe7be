"""Writes of the mirror. Every row here comes from the engine's own answer (rule 1).

- `*_sync` refresh one object from the engine (used after a dockerweb write and by the watcher);
- `*_forget` drop one object the engine no longer has;
- `host_reconcile` makes a whole host's mirror equal to the engine, in few queries;
- hosts are registered with `host_create` (admins) or `host_register` (set-up scripts).

After each change `announce` notes host, kind and id for the host's topology producer."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.db import connections, models, router, transaction
from django.db.models import Count, Q
from django.utils import timezone

from dockerweb.core import live
from dockerweb.core.errors import AppError, BadRequest, Conflict, NotFound, Unavailable
from dockerweb.core.services import change
from dockerweb.engine import inventory as engine
from dockerweb.engine.client import forget as engine_forget
from dockerweb.engine.client import url_problem as engine_url_problem
from dockerweb.engine.events import engine_ping

from . import parse, selectors
from .models import Container, Endpoint, Host, Mount, Network, PortBinding, Volume

log = logging.getLogger(__name__)


def announce(host: Host, kind: str, ident: str) -> None:
    """Note a mirror change (`kind`: host|network|container|volume) for the host's topology
    producer (`core.live.mirror_changed`), once it is committed: the producer reads the rows."""
    name = host.name
    transaction.on_commit(lambda: live.mirror_changed(name, kind, ident))


# --- finding objects by what a person typed ---------------------------------------------------

def network_fetch(*, host: Host, ident: str) -> tuple[Network, dict]:
    """The network `ident` (full id, exact name, or unique id prefix — the engine's order) and
    the engine's inspect of it by full id. A name is taken as given first (a network may be
    named with spaces at its ends elsewhere), then trimmed. A network the mirror has not seen
    yet is looked up on the engine — by its list when the engine cannot find the name itself
    (it cleans names like `/x` or `a//b` as paths); one the engine no longer has is forgotten.
    Raises NotFound."""
    given = ident or ""
    ident = given.strip()
    if not ident:
        raise NotFound("Name the network (its name or id).", field="network")
    tries = list(dict.fromkeys((given, ident)))
    for candidate in tries:
        try:
            net = selectors.network_get(host=host, ident=candidate)
        except NotFound:
            continue
        try:
            return net, engine.network_inspect(host, net.engine_id)
        except NotFound:
            network_forget(host=host, network_id=net.engine_id)
            break
    raw = None
    for candidate in tries:
        try:
            found = engine.network_inspect(host, candidate)
        except NotFound:
            continue
        # The engine's router cleans the path: "/x" or "a/../x" would find the network "x".
        if found.get("Name") == candidate or (found.get("Id") or "").startswith(candidate):
            raw = found
            break
    if raw is None:
        named = [n for n in engine.network_list(host) if n.get("Name") in tries]
        named.sort(key=lambda n: tries.index(n["Name"]))
        if named:
            try:
                raw = engine.network_inspect(host, named[0]["Id"])
            except NotFound:
                raw = None
    if raw is None:
        raise NotFound(f"Host {host.name!r} has no network {ident!r}.", field="network")
    net = network_sync(host=host, network_id=raw["Id"])
    if net is None:
        raise NotFound(f"Host {host.name!r} has no network {ident!r}.", field="network")
    return net, raw


def container_fetch(*, host: Host, ident: str, field: str = "container") -> tuple[Container, dict]:
    """Like `network_fetch`, for containers (`docker ps` names, ids and id prefixes)."""
    ident = (ident or "").strip().lstrip("/")
    if not ident:
        raise NotFound("Name the container (its name or id).", field=field)
    try:
        row = selectors.container_get(host=host, ident=ident)
    except NotFound:
        row = None
    if row is not None:
        try:
            return row, engine.container_inspect(host, row.engine_id)
        except NotFound:
            pass
    try:
        raw = engine.container_inspect(host, ident)
    except NotFound:
        raise NotFound(f"Host {host.name!r} has no container {ident!r}.", field=field) from None
    row = container_sync(host=host, container_id=raw["Id"])
    if row is None:
        raise NotFound(f"Host {host.name!r} has no container {ident!r}.", field=field)
    return row, raw


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
            announce(host, "host", host.name)


def host_watching(*, host: Host, since, watcher: str | None = None) -> None:
    """Record that a watcher process (`watcher`) follows (`since` a time) or no longer follows
    (None) the host's events."""
    host.watching_since = since
    updates = {"watching_since": since}
    if watcher is not None or since is None:
        host.watcher = updates["watcher"] = watcher or ""
    Host.objects.filter(pk=host.pk).update(**updates)


def host_unwatched(*, host_id: int, watcher: str) -> None:
    """Record that watcher process `watcher` stopped following the host — only if the host
    still names it (a successor that took the host over keeps its own name)."""
    Host.objects.filter(pk=host_id, watcher=watcher).update(watching_since=None, watcher="")


def host_check(*, host: Host) -> bool:
    """Ping the engine and record the result."""
    try:
        facts = engine_ping(host)
    except AppError as exc:
        host_mark(host=host, reachable=False, error=exc.message)
        return False
    host_mark(host=host, reachable=True, facts=facts)
    return True


def _validate_url(url: str) -> None:
    problem = engine_url_problem(url)
    if problem:
        raise BadRequest(problem, field="url")


def _validate_tls(*, tls_ca: str, tls_cert: str, tls_key: str) -> None:
    """PEM text, and a client certificate comes with its key (else the engine cannot be asked)."""
    for name, pem in (("tls_ca", tls_ca), ("tls_cert", tls_cert), ("tls_key", tls_key)):
        if pem and ("-----BEGIN " not in pem or "-----END " not in pem):
            raise BadRequest(f"{name} must be PEM text (-----BEGIN … -----END …).", field=name)
    if bool(tls_cert) != bool(tls_key):
        raise BadRequest("A client certificate needs its key, and a key its certificate.",
                         field="tls_key" if tls_cert else "tls_cert")


def _engine_facts(host: Host) -> dict:
    """Ping a new host's engine: 503 if nothing answers there (a refused TLS handshake
    included), 400 naming the URL if what answers is not a Docker engine."""
    try:
        return engine_ping(host)
    except Unavailable:
        raise
    except (AppError, ValueError) as exc:  # an HTTP error page, or an answer that is not JSON
        code = getattr(exc.__cause__, "status_code", None)
        why = f"it answered HTTP {code}" if code else "its answer is not the Docker API's"
        raise BadRequest(f"Something answers at {host.url}, but not as a Docker engine ({why}).",
                         field="url") from exc


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
        _validate_tls(tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key)
        if Host.objects.filter(name=name).exists():
            raise Conflict(f"A host named {name!r} already exists.", field="name")
        host = Host(name=name, url=url, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key, tls_verify=tls_verify)
        try:
            host.full_clean()
        except Exception as exc:
            msgs = getattr(exc, "message_dict", {})
            f, m = next(iter(msgs.items()), ("name", ["Invalid value."]))
            raise BadRequest(m[0], field=f) from exc
        facts = _engine_facts(host)
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
    """Refresh one network from the engine; forget it if the engine no longer has it.
    Writes (and announces) only when something changed."""
    try:
        raw = engine.network_inspect(host, network_id)
    except NotFound:
        network_forget(host=host, network_id=network_id)
        return None
    fields = parse.network_fields(raw)
    engine_id = fields.pop("engine_id")
    with transaction.atomic():
        network, op = _row_put(Network, host, {"engine_id": engine_id}, fields)
        # Endpoints whose network arrived after them (by name: those of containers never started).
        Endpoint.objects.filter(container__host=host, network__isnull=True).filter(
            Q(network_engine_id=engine_id) | Q(network_engine_id="", network_name=network.name)).update(network=network)
    if op:
        announce(host, "network", network.engine_id)
    return network


def network_forget(*, host: Host, network_id: str) -> None:
    """Drop a network the engine no longer has. Containers that keep an entry for it (stopped
    ones may) keep the entry, now pointing nowhere, and change with it: they are announced too."""
    with transaction.atomic():
        _host_lock(host)
        rows = Network.objects.filter(host=host, engine_id=network_id)
        if not rows.exists():
            rows = Network.objects.filter(host=host, name=network_id)
        users = list(Endpoint.objects.filter(network__in=rows).values_list("container__engine_id", flat=True))
        deleted = rows.delete()[0]
    if deleted:
        announce(host, "network", network_id)
        for cid in users:
            announce(host, "container", cid)


def _host_lock(host: Host) -> None:
    """Lock the host's row until the transaction ends: every write to one host's mirror takes
    it first (`_row_put`, the forgets, `host_reconcile`), so they queue up. On PostgreSQL a
    delete that cascades (a container and its mounts) would otherwise race an insert of a child
    row for it and fail its foreign key at commit."""
    list(Host.objects.select_for_update().filter(pk=host.pk).values_list("pk", flat=True))


def _row_put(model, host: Host, key: dict, fields: dict):
    """Create or update one mirror row; returns (row, "add" | "update" | None when unchanged).

    Two processes may sync the same object at once (the watcher from the event, a service from
    the engine's answer): the host's row is locked first — as `host_reconcile` does — so every
    write to one host's mirror queues up (on PostgreSQL both would otherwise insert the same new
    object, and one would fail on the unique key; SQLite's writes queue up by themselves)."""
    _host_lock(host)
    row = model.objects.select_for_update().filter(host=host, **key).first()
    if row is None:
        return model.objects.create(host=host, **key, **fields), "add"
    if fields.get("fingerprint") and row.fingerprint == fields["fingerprint"]:
        return row, None
    changed = [f for f, v in fields.items() if getattr(row, f) != v]
    if not changed:
        return row, None
    for f in changed:
        setattr(row, f, fields[f])
    row.save(update_fields=[*changed, "synced_at"])
    return row, "update"


def _network_of(e: dict, network_pks: dict[str, int], network_names: dict[str, int]) -> int | None:
    """The mirrored network of an endpoint: by the engine id it holds; by name only when it
    holds none (a container never started has ids only once it runs), since a network removed
    and made again under the same name is another network, which the engine would not use."""
    if e["network_engine_id"]:
        return network_pks.get(e["network_engine_id"])
    return network_names.get(e["network_name"])


def _children_wanted(raw: dict, network_pks: dict[str, int], volume_pks: dict[str, int],
                     network_names: dict[str, int]) -> dict:
    """The endpoint, mount and port rows a container's inspect output asks for, as field dicts
    including the foreign keys to mirrored networks ({engine id: pk}, {name: pk}) and volumes
    ({name: pk})."""
    return {
        "endpoints": [{**e, "network_id": _network_of(e, network_pks, network_names)} for e in parse.endpoints_of(raw)],
        "mounts": [{**m, "volume_id": volume_pks.get(m["name"]) if m["type"] == "volume" else None}
                   for m in parse.mounts_of(raw)],
        "ports": parse.ports_of(raw),
    }


_MISSING = object()


def _insert_many(model, rows: list[dict]) -> None:
    """INSERT `rows` (dicts by field name, foreign keys by attname such as `container_id`) with
    one executemany. A cold reconcile inserts a thousand rows or more, and bulk_create's
    per-value compiling costs more than the engine takes to answer all its inspects; values are
    adapted here by the backend's own adapters, so this stays database-neutral."""
    if not rows:
        return
    conn = connections[router.db_for_write(model)]
    now = timezone.now()
    columns, takers = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(conn.ops.quote_name(f.column))
        if isinstance(f, models.JSONField):
            adapt = (lambda enc: lambda v: conn.ops.adapt_json_value(v, enc))(f.encoder)
        elif isinstance(f, models.DateTimeField):
            adapt = conn.ops.adapt_datetimefield_value
        else:
            adapt = None
        auto = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        takers.append((f.attname, f.name, adapt, now if auto else _MISSING, f))
    params = []
    for row in rows:
        values = []
        for attname, name, adapt, auto, f in takers:
            v = row.get(attname, row.get(name, _MISSING))
            if v is _MISSING:
                v = auto if auto is not _MISSING else f.get_default()
            values.append(adapt(v) if adapt is not None and v is not None else v)
        params.append(values)
    sql = (f"INSERT INTO {conn.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    with conn.cursor() as cursor:
        for i in range(0, len(params), 500):
            cursor.executemany(sql, params[i:i + 500])


def _children_write(pairs: list[tuple[int, dict]]) -> None:
    """Replace the children of each container (pk) in `pairs` by the wanted ones, in bulk."""
    if not pairs:
        return
    ids = [pk for pk, _ in pairs]
    for model in (Endpoint, Mount, PortBinding):
        for i in range(0, len(ids), 500):
            model.objects.filter(container_id__in=ids[i:i + 500]).delete()
    _insert_many(Endpoint, [{**e, "container_id": pk} for pk, w in pairs for e in w["endpoints"]])
    _insert_many(Mount, [{**m, "container_id": pk} for pk, w in pairs for m in w["mounts"]])
    _insert_many(PortBinding, [{**p, "container_id": pk} for pk, w in pairs for p in w["ports"]])


def container_sync(*, host: Host, container_id: str) -> Container | None:
    """Refresh one container, its endpoints, mounts and ports from the engine; forget it if the
    engine no longer has it. Writes (and announces) only what changed."""
    found = engine.container_inspect_many(host, [container_id])
    if not found:
        container_forget(host=host, container_id=container_id)
        return None
    raw = found[0]
    fields = parse.container_fields(raw)
    engine_id = fields.pop("engine_id")
    # Volumes created implicitly by `docker run -v` may not be mirrored yet.
    names = {m["name"] for m in parse.mounts_of(raw) if m["type"] == "volume" and m["name"]}
    for name in names - set(Volume.objects.filter(host=host, name__in=names).values_list("name", flat=True)):
        volume_sync(host=host, name=name)
    eps = parse.endpoints_of(raw)
    net_ids = [e["network_engine_id"] for e in eps if e["network_engine_id"]]
    net_names = [e["network_name"] for e in eps if not e["network_engine_id"]]
    with transaction.atomic():
        network_pks = dict(Network.objects.filter(host=host, engine_id__in=net_ids).values_list("engine_id", "pk"))
        network_names = dict(Network.objects.filter(host=host, name__in=net_names).values_list("name", "pk"))
        volume_pks = dict(Volume.objects.filter(host=host, name__in=names).values_list("name", "pk"))
        container, op = _row_put(Container, host, {"engine_id": engine_id}, fields)
        if op is not None:
            # Endpoints, mounts and ports derive from the same attributes as the row: when the
            # fingerprint is unchanged so are they (any drift is the reconcile's to repair).
            _children_write([(container.pk, _children_wanted(raw, network_pks, volume_pks, network_names))])
    if op:
        announce(host, "container", container.engine_id)
    return container


def container_forget(*, host: Host, container_id: str) -> None:
    with transaction.atomic():
        _host_lock(host)
        deleted = Container.objects.filter(host=host, engine_id=container_id).delete()[0]
    if deleted:
        announce(host, "container", container_id)


def volume_sync(*, host: Host, name: str) -> Volume | None:
    """Refresh one volume from the engine; forget it if the engine no longer has it."""
    try:
        raw = engine.volume_inspect(host, name)
    except NotFound:
        volume_forget(host=host, name=name)
        return None
    fields = parse.volume_fields(raw)
    with transaction.atomic():
        volume, op = _row_put(Volume, host, {"name": fields.pop("name")}, fields)
        Mount.objects.filter(container__host=host, type=Mount.Type.VOLUME, name=volume.name, volume__isnull=True).update(volume=volume)
    if op:
        announce(host, "volume", volume.name)
    return volume


def volume_forget(*, host: Host, name: str) -> None:
    with transaction.atomic():
        _host_lock(host)
        deleted = Volume.objects.filter(host=host, name=name).delete()[0]
    if deleted:
        announce(host, "volume", name)


def mirror_forget_missing(*, host: Host, kind: str) -> int:
    """Forget the host's containers, networks or volumes (`kind`) that the engine no longer
    lists (after a prune, whose single event does not name them). Returns how many."""
    if kind == "container":
        model, key, listed = Container, "engine_id", {c["Id"] for c in engine.container_list(host)}
    elif kind == "network":
        model, key, listed = Network, "engine_id", {n["Id"] for n in engine.network_list(host)}
    elif kind == "volume":
        model, key, listed = Volume, "name", {v["Name"] for v in engine.volume_list(host)}
    else:
        raise ValueError(kind)
    gone = [k for k in model.objects.filter(host=host).values_list(key, flat=True) if k not in listed]
    if gone:
        with transaction.atomic():
            _host_lock(host)
            model.objects.filter(host=host, **{f"{key}__in": gone}).delete()
        for k in gone:
            announce(host, kind, k)
    return len(gone)


# --- whole host --------------------------------------------------------------------------------

@dataclass
class ReconcileResult:
    added: dict = field(default_factory=lambda: {"network": 0, "container": 0, "volume": 0})
    updated: dict = field(default_factory=lambda: {"network": 0, "container": 0, "volume": 0})
    removed: dict = field(default_factory=lambda: {"network": 0, "container": 0, "volume": 0})
    children: int = 0  # containers whose endpoints, mounts or ports were rewritten
    seconds: dict = field(default_factory=dict)  # {"engine": asking the engine, "mirror": comparing and writing}
    # The container list the mirror was made from: the light poll's baseline (`LightPoll.prime`).
    container_summaries: list = field(default_factory=list, repr=False)

    @property
    def changed(self) -> bool:
        return any(self.added.values()) or any(self.updated.values()) or any(self.removed.values()) or bool(self.children)


def _upsert(model, host: Host, key: str, raws: list[tuple[str, str, dict]], fields_of, result: ReconcileResult,
            kind: str) -> tuple[dict[str, int], set[str]]:
    """Create, update and delete rows of `model` for `host` so that they equal `raws`
    ([(key, fingerprint, raw)]). Only rows whose fingerprint differs are parsed and written.
    Returns ({key: pk} of every row, keys created or updated)."""
    existing = {k: (pk, fp) for k, pk, fp in model.objects.filter(host=host).values_list(key, "pk", "fingerprint")}
    now = timezone.now()
    to_create, to_update = [], []
    for k, fp, raw in raws:
        have = existing.get(k)
        if have is not None and have[1] == fp:
            continue
        fields = fields_of(raw, fp)
        if have is None:
            to_create.append({**fields, "host_id": host.pk})
        else:
            to_update.append(model(pk=have[0], host=host, synced_at=now, **fields))  # bulk_update skips auto_now
    wanted = {k for k, _, _ in raws}
    gone = [pk for k, (pk, _) in existing.items() if k not in wanted]
    for i in range(0, len(gone), 500):
        model.objects.filter(pk__in=gone[i:i + 500]).delete()
    _insert_many(model, to_create)
    if to_update:
        names = [f.name for f in model._meta.concrete_fields if f.name not in ("id", "host", key)]
        model.objects.bulk_update(to_update, names, batch_size=200)
    result.added[kind] += len(to_create)
    result.updated[kind] += len(to_update)
    result.removed[kind] += len(gone)
    if to_create:
        pks = dict(model.objects.filter(host=host).values_list(key, "pk"))
    else:
        pks = {k: pk for k, (pk, _) in existing.items() if k in wanted}
    return pks, {r[key] for r in to_create} | {getattr(o, key) for o in to_update}


class LightPoll:
    """The watcher's cheap look for changes no event announces (a stopped container connected
    to or disconnected from a network): one container list call (each container's state,
    networks, mounts and ports come with it), each summary fingerprinted; `look()` returns the
    ids of containers whose fingerprint differs from the last look (new and gone ones too)."""

    # What moves on its own without being a change ("Up 5 minutes").
    VOLATILE = ("Status", "Created")

    def __init__(self, host: Host):
        self.host = host
        self.prints: dict[str, str] | None = None

    def _prints(self, rows: list[dict]) -> dict[str, str]:
        return {r["Id"]: parse.fingerprint({k: v for k, v in r.items() if k not in self.VOLATILE}) for r in rows}

    def prime(self, rows: list[dict]) -> None:
        """Take as the baseline the list a full reconcile made the mirror from. (A look taken
        before the reconcile's own list would miss a change made and undone while it ran: the
        mirror keeps the middle state, and the next look finds nothing new.)"""
        self.prints = self._prints(rows)

    def look(self) -> list[str]:
        prints = self._prints(engine.container_list(self.host))
        before, self.prints = self.prints, prints
        if before is None:
            return []
        return [cid for cid in prints.keys() | before.keys() if prints.get(cid) != before.get(cid)]


def _inspect_all(host: Host, summaries: list[dict]) -> list[dict]:
    """Inspect every listed container; ones removed between list and inspect are left out."""
    return engine.container_inspect_many(host, [s["Id"] for s in summaries])


def _children_drifted(host: Host, keep: dict[int, dict]) -> set[int]:
    """Containers (pks) of `keep` ({pk: raw}) whose children rows no longer match their raw in
    number or in the networks and volumes they point to: rows lost to a cascade (a network
    removed and created again) or written by hand. Reads no JSON, so it stays cheap."""
    if not keep:
        return set()
    have: dict[int, list] = {}
    for cid, net_id in Endpoint.objects.filter(container__host=host).values_list("container_id", "network_id"):
        have.setdefault(cid, [[], [], 0])[0].append(net_id or 0)
    for cid, vol_id in Mount.objects.filter(container__host=host).values_list("container_id", "volume_id"):
        have.setdefault(cid, [[], [], 0])[1].append(vol_id or 0)
    for row in PortBinding.objects.filter(container__host=host).values("container_id").annotate(n=Count("id")):
        have.setdefault(row["container_id"], [[], [], 0])[2] = row["n"]
    empty = [[], [], 0]
    return {pk for pk, wanted in keep.items()
            if (lambda h: [sorted(h[0]), sorted(h[1]), h[2]])(have.get(pk, empty)) != wanted}


def host_reconcile(*, host: Host) -> ReconcileResult:
    """Make the host's mirror equal to the engine: list networks and volumes, list and inspect
    every container, then write only the differences, in a handful of bulk queries.
    Idempotent: a second run against an unchanged engine writes nothing."""
    result = ReconcileResult()
    started = time.perf_counter()
    raw_networks = [parse.network_raw(n) for n in engine.network_list(host)]
    raw_volumes = engine.volume_list(host)
    result.container_summaries = engine.container_list(host)
    raw_containers = _inspect_all(host, result.container_summaries)
    fetched = time.perf_counter()
    networks_in = [(n["Id"], parse.fingerprint(n), n) for n in raw_networks]
    volumes_in = [(v["Name"], parse.fingerprint(v), v) for v in raw_volumes]
    containers_in = [(c["Id"], parse.fingerprint(c), c) for c in raw_containers]
    with transaction.atomic():
        Host.objects.select_for_update().filter(pk=host.pk).first()  # one reconcile of a host at a time
        network_pks, _ = _upsert(Network, host, "engine_id", networks_in, parse.network_fields, result, "network")
        network_names = {n["Name"]: network_pks[nid] for nid, _, n in networks_in}
        volume_pks, _ = _upsert(Volume, host, "name", volumes_in, parse.volume_fields, result, "volume")
        container_pks, written = _upsert(Container, host, "engine_id", containers_in, parse.container_fields, result,
                                         "container")
        rewrite, keep = [], {}
        for cid, _, raw in containers_in:
            pk = container_pks[cid]
            if cid in written:
                rewrite.append((pk, _children_wanted(raw, network_pks, volume_pks, network_names)))
            else:
                eps, mounts = parse.endpoints_of(raw), parse.mounts_of(raw)
                keep[pk] = [sorted(_network_of(e, network_pks, network_names) or 0 for e in eps),
                            sorted((volume_pks.get(m["name"]) or 0) if m["type"] == "volume" else 0 for m in mounts),
                            len(parse.ports_of(raw))]
        drifted = _children_drifted(host, keep)
        if drifted:
            raw_of = {container_pks[cid]: raw for cid, _, raw in containers_in}
            rewrite += [(pk, _children_wanted(raw_of[pk], network_pks, volume_pks, network_names)) for pk in drifted]
        _children_write(rewrite)
        result.children = len(rewrite)
    result.seconds = {"engine": fetched - started, "mirror": time.perf_counter() - fetched}
    if not host.engine_version:
        host_check(host=host)  # first sight of the engine: record its version and facts
    else:
        host_mark(host=host, reachable=True)
    if result.changed:
        announce(host, "host", host.name)
    return result
