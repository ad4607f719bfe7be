"""Reads of the mirror."""
from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from dockerweb.core.errors import NotFound
from dockerweb.engine.archives import JOB_LABEL, STAGING_LABEL
from dockerweb.engine.probes import PROBE_LABEL

from .models import Container, Endpoint, Host, Mount, Network, Volume

# dockerweb's own objects on an engine, known by their labels (never by their names): the helper
# containers of backups, restores and file reads, the audit's probe containers, and the staging
# volumes of restores. Lists and choices leave them out unless asked for (`internal`).
INTERNAL_CONTAINER_LABELS = (JOB_LABEL, PROBE_LABEL)
INTERNAL_VOLUME_LABELS = (STAGING_LABEL,)


def _yes(value) -> bool:
    return value is True or str(value or "").lower() in ("1", "true", "yes", "on")


def without_internal(qs: QuerySet, labels: tuple[str, ...]) -> QuerySet:
    """`qs` without the rows that carry one of `labels` (dockerweb's own helpers)."""
    for key in labels:
        qs = qs.exclude(labels__has_key=key)
    return qs


def host_list() -> QuerySet[Host]:
    return Host.objects.all()


def host_get(*, name: str) -> Host:
    host = Host.objects.filter(name=name).first()
    if host is None:
        known = ", ".join(Host.objects.values_list("name", flat=True)) or "none"
        raise NotFound(f"There is no host named {name!r} (known hosts: {known}).")
    return host


def host_engine_states() -> dict[str, str]:
    return {h.name: ("ok" if h.status == Host.Status.OK else "unreachable") for h in Host.objects.all()}


def network_get(*, host: Host, ident: str) -> Network:
    """By full id, then by exact name, then by unique id prefix — the engine's own order, so a
    name that equals another network's id prefix cannot pick the wrong one."""
    qs = Network.objects.filter(host=host)
    net = qs.filter(engine_id=ident).first() or qs.filter(name=ident).first()
    if net is None and len(ident) >= 3:
        matches = list(qs.filter(engine_id__startswith=ident)[:2])
        if len(matches) == 1:
            net = matches[0]
    if net is None:
        raise NotFound(f"Host {host.name!r} has no network {ident!r}.")
    return net


def container_get(*, host: Host, ident: str) -> Container:
    qs = Container.objects.filter(host=host)
    c = qs.filter(engine_id=ident).first() or qs.filter(name=ident.lstrip("/")).first()
    if c is None and len(ident) >= 3:
        matches = list(qs.filter(engine_id__startswith=ident)[:2])
        if len(matches) == 1:
            c = matches[0]
    if c is None:
        raise NotFound(f"Host {host.name!r} has no container {ident!r}.")
    return c


def volume_get(*, host: Host, name: str) -> Volume:
    v = Volume.objects.filter(host=host, name=name).first()
    if v is None:
        raise NotFound(f"Host {host.name!r} has no volume {name!r}.")
    return v


# The list selectors read what list pages and list answers show, and nothing per row:
# - `raw` (the engine's whole inspect output, kilobytes of JSON a row) is left unread;
# - rows are ordered by name alone: they are of one host, and ordering by the host's name (the
#   models' default) would join the host table into every list query;
# - related rows come in one query per relation. With `as_lists` they are plain lists on each
#   object (the read API's serializers take them from there): a prefetched *manager* per object
#   and relation costs a queryset clone each, more than the queries themselves at a hundred rows.
#   List pages keep the managers (`c.endpoints.all` in templates).

def _with_container_ref(qs: QuerySet) -> QuerySet:
    """Endpoints or mounts with their container's id and name, the only columns of it a list
    shows (decoding its JSON columns cost more than the rows themselves)."""
    own = [f.name for f in qs.model._meta.concrete_fields]
    return qs.select_related("container").only(*own, "container__engine_id", "container__name")


def network_list(*, host: Host, filters: dict | None = None, as_lists: bool = False) -> QuerySet[Network]:
    """The host's networks. `as_lists`: each carries `live_endpoints`, its endpoints that are
    live (an engine endpoint id; as `docker network inspect` lists them), with their container."""
    f = filters or {}
    endpoints = _with_container_ref(Endpoint.objects.all())
    if as_lists:
        related = Prefetch("endpoints", queryset=endpoints.exclude(endpoint_id=""), to_attr="live_endpoints")
    else:
        related = Prefetch("endpoints", queryset=endpoints)
    qs = Network.objects.filter(host=host).defer("raw").order_by("name", "pk").prefetch_related(related)
    if f.get("driver"):
        qs = qs.filter(driver=f["driver"])
    if f.get("name"):
        qs = qs.filter(name__icontains=f["name"])
    if f.get("label"):
        qs = _label_filter(qs, f["label"])
    return qs


def container_list(*, host: Host, filters: dict | None = None, as_lists: bool = False) -> QuerySet[Container]:
    """The host's containers, without dockerweb's helpers unless `filters["internal"]`.
    `as_lists`: each carries `endpoint_list`, `port_list` and `mount_list`."""
    f = filters or {}
    if as_lists:
        related = [Prefetch("endpoints", to_attr="endpoint_list"), Prefetch("ports", to_attr="port_list"),
                   Prefetch("mounts", to_attr="mount_list")]
    else:
        related = ["endpoints", "ports", "mounts"]
    qs = Container.objects.filter(host=host).defer("raw").order_by("name", "pk").prefetch_related(*related)
    if f.get("state"):
        qs = qs.filter(state=f["state"])
    if f.get("name"):
        qs = qs.filter(name__icontains=f["name"])
    if f.get("image"):
        qs = qs.filter(image__icontains=f["image"])
    if f.get("network"):
        qs = qs.filter(endpoints__network_name=f["network"]).distinct()
    if f.get("label"):
        qs = _label_filter(qs, f["label"])
    if not _yes(f.get("internal")):
        qs = without_internal(qs, INTERNAL_CONTAINER_LABELS)
    return qs


def volume_list(*, host: Host, filters: dict | None = None, as_lists: bool = False) -> QuerySet[Volume]:
    """The host's volumes, without restores' staging volumes unless `filters["internal"]`.
    `as_lists`: each carries `mount_list`, its mounts with their container."""
    f = filters or {}
    mounts = _with_container_ref(Mount.objects.all())
    related = Prefetch("mounts", queryset=mounts, to_attr="mount_list" if as_lists else None)
    qs = Volume.objects.filter(host=host).defer("raw").order_by("name", "pk").prefetch_related(related)
    if f.get("driver"):
        qs = qs.filter(driver=f["driver"])
    if f.get("name"):
        qs = qs.filter(name__icontains=f["name"])
    if f.get("label"):
        qs = _label_filter(qs, f["label"])
    if str(f.get("dangling", "")).lower() in ("1", "true", "yes"):
        qs = qs.filter(mounts__isnull=True)
    if not _yes(f.get("internal")):
        qs = without_internal(qs, INTERNAL_VOLUME_LABELS)
    return qs


def _label_filter(qs, label: str):
    """`key` or `key=value`, as `docker … ls --filter label=…`."""
    key, sep, value = label.partition("=")
    qs = qs.filter(labels__has_key=key)
    if sep:
        qs = qs.filter(pk__in=[o.pk for o in qs.only("pk", "labels") if o.labels.get(key) == value])
    return qs


def host_current(request) -> Host | None:
    """The host a page shows: `?host=` if given (remembered in the session), else the last one
    chosen, else the first registered. Raises NotFound for an unknown `?host=`."""
    name = request.GET.get("host")
    if name:
        host = host_get(name=name)
        request.session["host"] = host.name
        return host
    remembered = request.session.get("host")
    host = Host.objects.filter(name=remembered).first() if remembered else None
    return host or Host.objects.order_by("name").first()
