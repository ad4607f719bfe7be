"""Engine calls for networks: one function per call, engine errors translated."""
from __future__ import annotations

from .client import api
from .errors import engine_errors


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
