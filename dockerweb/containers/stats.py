"""A container's live resource use (CPU, memory, network, block I/O, processes), as
`docker stats` shows it. A read (`container.stats`): the viewer role is enough."""
from __future__ import annotations

from dockerweb.core.errors import Conflict
from dockerweb.engine import stats as engine_stats

from .logs import container_for_read


def container_stats(*, user, host, ident: str) -> dict:
    """One reading (see `engine.stats`): `{cpu_percent, memory_usage, memory_limit, net_rx,
    net_tx, block_read, block_write, pids, read}`. A container that is not running has no
    figures: 409 with a sentence (zeros would draw a false flat line)."""
    raw = container_for_read(user=user, host=host, ident=ident, action="container.stats")
    state = raw.get("State") or {}
    if not state.get("Running"):
        name = raw.get("Name", "").lstrip("/")
        raise Conflict(f"Container {name!r} is not running ({state.get('Status') or 'stopped'}); "
                       "start it to see its live figures.")
    return engine_stats.container_stats(host, raw["Id"])
