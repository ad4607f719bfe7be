"""Writes of networks: each goes to the engine first, then the mirror is refreshed from the
engine's answer (never from the input)."""
from __future__ import annotations

from dockerweb.core.errors import Conflict
from dockerweb.core.services import change
from dockerweb.engine import networks as engine
from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.models import Host, Network
from dockerweb.inventory.services import network_forget, network_sync


def network_create(*, actor, host: Host, name: str, driver: str = "bridge", options: dict | None = None,
                   ipam_config: list[dict] | None = None, internal: bool = False, attachable: bool = False,
                   enable_ipv6: bool = False, labels: dict | None = None) -> Network:
    """Create a network on `host` and return its mirror row."""
    with change(user=actor, action="network.create", host=host, target=name, detail={"driver": driver}) as ch:
        if name in Network.PREDEFINED:
            raise Conflict(f"{name!r} is a predefined network of every engine; choose another name.", field="name")
        if Network.objects.filter(host=host, name=name).exists():
            raise Conflict(f"A network named {name!r} already exists on {host.name}.", field="name")
        network_id = engine.network_create(
            host, name=name, driver=driver, options=options, ipam_config=ipam_config, internal=internal,
            attachable=attachable, enable_ipv6=enable_ipv6, labels=labels,
        )
        ch.detail["id"] = network_id
        return network_sync(host=host, network_id=network_id)


def network_remove(*, actor, host: Host, ident: str) -> None:
    """Remove a network (addressed by full id internally)."""
    network = inventory.network_get(host=host, ident=ident)
    with change(user=actor, action="network.remove", host=host, target=network.name, detail={"id": network.engine_id}):
        if network.is_predefined:
            raise Conflict(f"{network.name!r} is a predefined network and cannot be removed.")
        engine.network_remove(host, network.engine_id)
        network_forget(host=host, network_id=network.engine_id)
