"""Reads for the volumes pages: sizes, as the engine reports them (docker system df)."""
from __future__ import annotations

from dockerweb.core.errors import AppError
from dockerweb.engine import inventory as engine
from dockerweb.inventory.models import Host


def volume_sizes(host: Host) -> dict[str, int]:
    """{name: bytes} for the volumes whose size the engine reports; {} if it reports none (slow on
    big hosts: the pages ask only when a person wants sizes)."""
    try:
        usage = engine.volume_usage(host)
    except AppError:
        return {}
    return {name: size for name, size in usage.items() if size is not None and size >= 0}


def with_sizes(host: Host, volumes) -> list:
    """The volumes with `.size` filled from the engine (not saved: the mirror keeps what reconcile wrote)."""
    sizes = volume_sizes(host)
    rows = list(volumes)
    for v in rows:
        if v.name in sizes:
            v.size = sizes[v.name]
    return rows
