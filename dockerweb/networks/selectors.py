"""Reads for the networks app: finding a network or container by what a person typed (then
using its full id), the prune preview, and the `docker network create …` line of a request."""
from __future__ import annotations

import shlex

from django.db.models import QuerySet

from dockerweb.core.errors import NotFound
from dockerweb.engine import networks as engine
from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.models import Container, Endpoint, Host, Network
from dockerweb.inventory.services import container_sync, network_forget, network_sync

from .choices import PREDEFINED


def network_fetch(*, host: Host, ident: str) -> tuple[Network, dict]:
    """The network `ident` (full id, exact name, or unique id prefix — the engine's order) and
    the engine's inspect of it by full id. A network the mirror has not seen yet is looked up
    on the engine; one the engine no longer has is forgotten. Raises NotFound."""
    ident = (ident or "").strip()
    if not ident:
        raise NotFound("Name the network (its name or id).", field="network")
    try:
        net = inventory.network_get(host=host, ident=ident)
    except NotFound:
        net = None
    if net is not None:
        try:
            return net, engine.network_inspect(host, net.engine_id)
        except NotFound:
            network_forget(host=host, network_id=net.engine_id)
    try:
        raw = engine.network_inspect(host, ident)
    except NotFound:
        raise NotFound(f"Host {host.name!r} has no network {ident!r}.", field="network") from None
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
        row = inventory.container_get(host=host, ident=ident)
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


def network_fixed_addresses(*, host: Host, network: Network) -> dict[str, str]:
    """Fixed addresses (`--ip`, `--ip6`) that containers asked for on `network`, running or not:
    address → container name (from the mirror's endpoints)."""
    out = {}
    for ep in Endpoint.objects.filter(container__host=host, network_engine_id=network.engine_id).select_related("container"):
        for addr in (ep.ipam_config or {}).values():
            if addr:
                out[addr] = ep.container.name
    return out


def network_prune_candidates(*, host: Host) -> list[dict]:
    """What `docker network prune` would remove now: every network but the predefined ones and
    the swarm's ingress that no container uses (asked of the engine, not the mirror)."""
    out = []
    for summary in engine.network_list(host):
        if summary.get("Name") in PREDEFINED or summary.get("Ingress"):
            continue
        try:
            raw = engine.network_inspect(host, summary["Id"])
        except NotFound:
            continue
        if not raw.get("Containers"):
            out.append(raw)
    return sorted(out, key=lambda n: n.get("Name", ""))


def network_connectable_containers(*, host: Host, network: Network) -> QuerySet[Container]:
    """Containers of the host that could join `network` (not already on it, not sharing
    another namespace, not in host or none mode)."""
    return (Container.objects.filter(host=host)
            .exclude(endpoints__network_engine_id=network.engine_id)
            .exclude(network_mode__in=("host", "none"))
            .exclude(network_mode__startswith="container:")
            .order_by("name"))


def network_joinable(*, host: Host, container: Container) -> QuerySet[Network]:
    """Networks a container could join (for the container page's connect form)."""
    joined = list(container.endpoints.values_list("network_engine_id", flat=True))
    return Network.objects.filter(host=host).exclude(engine_id__in=joined).exclude(name__in=("host", "none")).order_by("name")


def network_create_command(*, name: str, driver: str = "bridge", options: dict | None = None,
                           ipam_config: list[dict] | None = None, internal: bool = False, attachable: bool = False,
                           enable_ipv6: bool = False, labels: dict | None = None) -> str:
    """The `docker network create …` line that does the same as this request (also built live
    in the browser by static/js/networks.js, in the same order)."""
    q = shlex.quote
    parts = ["docker network create"]
    if driver and driver != "bridge":
        parts.append(f"--driver {q(driver)}")
    for c in ipam_config or []:
        if c.get("subnet"):
            parts.append(f"--subnet {q(c['subnet'])}")
        if c.get("gateway"):
            parts.append(f"--gateway {q(c['gateway'])}")
        if c.get("ip_range"):
            parts.append(f"--ip-range {q(c['ip_range'])}")
        for k, v in (c.get("aux_addresses") or {}).items():
            parts.append(f"--aux-address {q(f'{k}={v}')}")
    if enable_ipv6:
        parts.append("--ipv6")
    if internal:
        parts.append("--internal")
    if attachable:
        parts.append("--attachable")
    for k, v in (options or {}).items():
        parts.append(f"-o {q(f'{k}={v}')}")
    for k, v in (labels or {}).items():
        parts.append(f"--label {q(f'{k}={v}' if v != '' else k)}")
    parts.append(q(name or "NAME"))
    return " ".join(parts)
