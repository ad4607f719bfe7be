"""Engine calls for networks: one function per engine call, engine errors translated.

Callers pass full ids: the engine resolves a name or an id prefix on its own, and a name that
equals another network's id prefix would then pick the wrong network."""
from __future__ import annotations

from .client import api
from .errors import engine_errors
from .inventory import network_inspect, network_list  # noqa: F401  (the mirror's reads; one copy)


def network_create(host, *, name: str, driver: str = "bridge", options: dict | None = None,
                   ipam_config: list[dict] | None = None, internal: bool = False, attachable: bool = False,
                   enable_ipv6: bool = False, labels: dict | None = None) -> str:
    """Create a network; `ipam_config` is a list of {subnet, gateway, ip_range, aux_addresses}.
    Returns the engine's full id."""
    from docker.types import IPAMConfig, IPAMPool

    ipam = None
    if ipam_config:
        ipam = IPAMConfig(pool_configs=[
            IPAMPool(subnet=c.get("subnet") or None, gateway=c.get("gateway") or None,
                     iprange=c.get("ip_range") or None, aux_addresses=c.get("aux_addresses") or None)
            for c in ipam_config
        ])
    with engine_errors(host):
        result = api(host).create_network(
            name, driver=driver, options=options or None, ipam=ipam, check_duplicate=True, internal=internal,
            attachable=attachable, enable_ipv6=enable_ipv6, labels=labels or None,
        )
    return result["Id"]


def network_remove(host, network_id: str) -> None:
    with engine_errors(host):
        api(host).remove_network(network_id)


def network_connect(host, network_id: str, container_id: str, *, ipv4_address: str = "", ipv6_address: str = "",
                    aliases: list[str] | None = None, links: list[tuple[str, str]] | None = None) -> None:
    """`docker network connect [--ip] [--ip6] [--alias]… [--link name:alias]… NETWORK CONTAINER`."""
    with engine_errors(host):
        api(host).connect_container_to_network(
            container_id, network_id, ipv4_address=ipv4_address or None, ipv6_address=ipv6_address or None,
            aliases=aliases or None, links=links or None,
        )


def network_disconnect(host, network_id: str, container_id: str, *, force: bool = False) -> None:
    with engine_errors(host):
        api(host).disconnect_container_from_network(container_id, network_id, force=force)


def network_drivers(host) -> list[str]:
    """The network drivers the engine offers (`docker info`: Plugins.Network)."""
    with engine_errors(host):
        info = api(host).info()
    return list((info.get("Plugins") or {}).get("Network") or [])


def container_inspect(host, container_id: str) -> dict:
    with engine_errors(host):
        return api(host).inspect_container(container_id)
