"""Engine calls for networks: one function per engine call, engine errors translated.

Callers pass full ids: the engine resolves a name or an id prefix on its own, and a name that
equals another network's id prefix would then pick the wrong network."""
from __future__ import annotations

import secrets
from pathlib import Path

from dockerweb.core.errors import Unavailable

from .archives import helper_run
from .client import api
from .errors import engine_errors
from .inventory import network_inspect, network_list  # noqa: F401  (the mirror's reads; one copy)
from .local import engine_pid, unix_socket_path

# IPAM drivers built into every engine (`docker info` lists network drivers, not IPAM ones).
BUILTIN_IPAM_DRIVERS = ("default", "null")


def network_create(host, *, name: str, driver: str = "bridge", options: dict | None = None,
                   ipam_config: list[dict] | None = None, internal: bool = False, attachable: bool = False,
                   enable_ipv6: bool = False, labels: dict | None = None, ipam_driver: str = "default",
                   ipam_options: dict | None = None) -> str:
    """Create a network; `ipam_config` is a list of {subnet, gateway, ip_range, aux_addresses},
    `ipam_driver` and `ipam_options` are `--ipam-driver` and `--ipam-opt`. Returns the engine's
    full id."""
    from docker.types import IPAMConfig, IPAMPool

    ipam = None
    ipam_driver = ipam_driver or "default"
    if ipam_config or ipam_options or ipam_driver != "default":
        ipam = IPAMConfig(driver=ipam_driver, options=ipam_options or None, pool_configs=[
            IPAMPool(subnet=c.get("subnet") or None, gateway=c.get("gateway") or None,
                     iprange=c.get("ip_range") or None, aux_addresses=c.get("aux_addresses") or None)
            for c in ipam_config or []
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


def ipam_drivers(host) -> list[str]:
    """The IPAM drivers the engine offers: its built-in ones and the enabled plugins installed
    with `docker plugin install` that provide one (as `name` and `name:tag`). `docker info`
    has no IPAM list in any version; legacy plugins (a bare socket in /run/docker/plugins) are
    listed nowhere and so are not offered."""
    with engine_errors(host):
        plugins = api(host).plugins()
    names = list(BUILTIN_IPAM_DRIVERS)
    for p in plugins or []:
        types = (((p.get("Config") or {}).get("Interface") or {}).get("Types")) or []
        if p.get("Enabled") and any((t.get("Capability") if isinstance(t, dict) else str(t)).endswith("ipamdriver")
                                    for t in types):
            name = p.get("Name") or ""
            names += [name, name.removesuffix(":latest")]
    return list(dict.fromkeys(n for n in names if n))


def bridge_name(raw_network: dict) -> str | None:
    """The Linux bridge of a bridge network, as the engine names it (`-o com.docker.network.bridge.name`,
    else br-<first 12 of the id>); None for other drivers."""
    if raw_network.get("Driver") != "bridge" or (raw_network.get("Scope") or "local") != "local":
        return None
    return (raw_network.get("Options") or {}).get("com.docker.network.bridge.name") or f"br-{raw_network['Id'][:12]}"


def _netdev_names(text: str) -> set[str]:
    """Interface names of a /proc/net/dev listing (two header lines, then `name: counters`)."""
    return {line.split(":", 1)[0].strip() for line in text.splitlines()[2:] if ":" in line} - {""}


# POSIX sh only (any helper image has it): the names on one line, as helper_run keeps the last lines.
_NETDEV_SCRIPT = "set -f; { read -r _; read -r _; while IFS=: read -r name _; do printf '%s ' $name; done; } " \
                 "< /proc/net/dev"


def host_interfaces(host) -> set[str]:
    """Names of the network interfaces in the engine's own network namespace — where it makes its
    bridges and finds macvlan parents — as they are now (read on every call, nothing cached).

    An engine on a unix socket of this machine: /proc/<engine pid>/net/dev, trusted only when it
    shows the bridges of every bridge network the engine has (a socket forwarded from another
    machine or a container has the forwarder behind it, whose namespace is not the engine's).
    Otherwise (a remote engine, or that check fails): a helper container in the host's network
    namespace prints its /proc/net/dev. Unavailable (503) when neither can tell."""
    bridges = {b for b in (bridge_name(n) for n in network_list(host)) if b}
    path = unix_socket_path(host)
    pid = engine_pid(path) if path else None
    if pid is not None and bridges:
        try:
            names = _netdev_names(Path(f"/proc/{pid}/net/dev").read_text())
        except OSError:
            names = set()
        if bridges <= names:
            return names
    try:
        code, out = helper_run(host, job_key=f"netdev-{secrets.token_hex(8)}", mounts={},
                               command=["sh", "-c", _NETDEV_SCRIPT], timeout=60, network_mode="host")
    except Unavailable as exc:
        raise Unavailable(f"dockerweb cannot tell which network interfaces host {getattr(host, 'name', '?')!r} "
                          f"has, so it cannot check this request: {exc.message}") from exc
    names = set(out.split())
    if code != 0 or not names:
        raise Unavailable(f"dockerweb cannot tell which network interfaces host {getattr(host, 'name', '?')!r} "
                          f"has (its helper container answered {out.strip()[-200:]!r}), so it cannot check this "
                          "request; try again.")
    return names


def container_inspect(host, container_id: str) -> dict:
    with engine_errors(host):
        return api(host).inspect_container(container_id)
