"""Reads for the networks app: fixed addresses, the prune preview, and the `docker network
create …` line of a request. (Finding a network or container by what a person typed is
`inventory.services.network_fetch` / `container_fetch`.)"""
from __future__ import annotations

import shlex

from django.db.models import Q, QuerySet

from dockerweb.core.errors import NotFound
from dockerweb.engine import inventory as engine_inventory
from dockerweb.engine import networks as engine
from dockerweb.inventory.models import Container, Endpoint, Host, Network

from .choices import PREDEFINED


def network_fixed_addresses(*, host: Host, network: Network) -> dict[str, str]:
    """Fixed addresses (`--ip`, `--ip6`) that containers asked for on `network`, running or not:
    address → container name (from the mirror's endpoints)."""
    out = {}
    for ep in Endpoint.objects.filter(Q(network=network) | Q(network_engine_id=network.engine_id),
                                      container__host=host).select_related("container"):
        for addr in (ep.ipam_config or {}).values():
            if addr:
                out[addr] = ep.container.name
    return out


def network_prune_candidates(*, host: Host) -> list[dict]:
    """What `docker network prune` would remove now: every network but the predefined ones and
    the swarm's ingress that no container uses (asked of the engine, not the mirror). Unlike the
    engine's prune, a network that a stopped (or never started) container is attached to is kept:
    removing it would leave that container unable to start."""
    configured_ids, configured_names = set(), set()
    for c in engine_inventory.container_list(host):
        for name, ep in ((c.get("NetworkSettings") or {}).get("Networks") or {}).items():
            configured_names.add(name)
            if (ep or {}).get("NetworkID"):
                configured_ids.add(ep["NetworkID"])
    out = []
    for summary in engine.network_list(host):
        if summary.get("Name") in PREDEFINED or summary.get("Ingress"):
            continue
        if summary["Id"] in configured_ids or summary.get("Name") in configured_names:
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
                           enable_ipv6: bool = False, labels: dict | None = None, ipam_driver: str = "default",
                           ipam_options: dict | None = None) -> str:
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
    if ipam_driver and ipam_driver != "default":
        parts.append(f"--ipam-driver {q(ipam_driver)}")
    for k, v in (ipam_options or {}).items():
        parts.append(f"--ipam-opt {q(f'{k}={v}')}")
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
