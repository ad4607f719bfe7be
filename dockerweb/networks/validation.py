"""Checks of network requests before the engine is called.

Pure functions over the request and the engine's current state (its network list, inspect
outputs): each raises an AppError whose `field` names the input it belongs to, in the API's
dotted form (`ipam.config.0.subnet`, `options.parent`, `ipv4_address`). The engine would refuse
much of this too, but with raw sentences, sometimes with a 500, and sometimes after it has
already changed something (a refused fixed IP can leave a ghost endpoint in the container's
settings) — so nothing questionable reaches it."""
from __future__ import annotations

import ipaddress
import re

from dockerweb.core.errors import BadRequest, Conflict

from .choices import BOOLEAN_OPTIONS, PREDEFINED, SINGLETON_DRIVERS

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$")
IFNAME_RE = re.compile(r"^[a-zA-Z0-9_.@:-]{1,15}$")
ALIAS_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$")
PREFIX_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9]{0,9}$")


def short(ident: str) -> str:
    return ident[:12]


def _net(value: str, field: str, what: str = "subnet") -> ipaddress._BaseNetwork:
    value = (value or "").strip()
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise BadRequest(f"{value!r} is not a valid {what} in CIDR notation (like 10.40.0.0/24 or fd00:40::/64).",
                         field=field) from None
    raise BadRequest(f"{value} has host bits set; the {what} starting at that prefix is {loose}.", field=field)


def _addr(value: str, field: str, what: str = "IP address") -> ipaddress._BaseAddress:
    try:
        return ipaddress.ip_address((value or "").strip())
    except ValueError:
        raise BadRequest(f"{value!r} is not a valid {what}.", field=field) from None


def engine_subnets(raw_networks: list[dict]) -> list[tuple[ipaddress._BaseNetwork, dict]]:
    """(subnet, network) for every subnet of every network the engine has."""
    out = []
    for n in raw_networks:
        for c in ((n.get("IPAM") or {}).get("Config") or []):
            try:
                out.append((ipaddress.ip_network(c.get("Subnet") or "", strict=False), n))
            except ValueError:
                continue
    return out


# --- create ------------------------------------------------------------------------------------

def check_create(*, name: str, driver: str, options: dict, ipam_config: list[dict], enable_ipv6: bool,
                 labels: dict, raw_networks: list[dict], drivers: list[str], swarm_manager: bool) -> None:
    """Everything `docker network create` would be refused for, and what it lets through but
    should not (host bits, IPv6 values without IPv6, a subnet overlapping another network)."""
    if not name:
        raise BadRequest("A network needs a name.", field="name")
    if not NAME_RE.match(name):
        raise BadRequest("Use letters, digits, '_', '.' or '-' for the name, starting with a letter or digit.",
                         field="name")
    if name in PREDEFINED:
        raise Conflict(f"{name!r} is a predefined network of every engine; choose another name.", field="name")
    same = [n for n in raw_networks if n.get("Name") == name]
    if same:
        raise Conflict(f"A network named {name!r} already exists on this host (id {short(same[0]['Id'])}).",
                       field="name")

    if driver in SINGLETON_DRIVERS:
        raise Conflict(f"The {driver} driver has exactly one network, {SINGLETON_DRIVERS[driver]!r}, made by the engine; "
                       f"run containers with network mode {SINGLETON_DRIVERS[driver]} instead.", field="driver")
    if drivers and driver not in drivers:
        raise BadRequest(f"This engine has no network driver {driver!r}; it offers {', '.join(sorted(drivers))}.",
                         field="driver")
    if driver == "overlay" and not swarm_manager:
        raise Conflict("Overlay networks need a swarm: this host is not a swarm manager "
                       "(run `docker swarm init` on it first).", field="driver")

    _check_options(driver=driver, options=options, raw_networks=raw_networks)
    for key in labels:
        if not str(key).strip():
            raise BadRequest("A label needs a key (key=value).", field="labels")

    _check_ipam(driver=driver, ipam_config=ipam_config, enable_ipv6=enable_ipv6, raw_networks=raw_networks)


def _check_options(*, driver: str, options: dict, raw_networks: list[dict]) -> None:
    for key, value in options.items():
        if not str(key).strip():
            raise BadRequest("A driver option needs a key (-o key=value).", field="options")
    if driver in ("macvlan", "ipvlan"):
        parent = (options.get("parent") or "").strip()
        if not parent:
            raise BadRequest(f"A {driver} network needs a parent interface of the host (-o parent=eth0).",
                             field="options.parent")
        if not IFNAME_RE.match(parent):
            raise BadRequest(f"{parent!r} is not a valid interface name (at most 15 letters, digits, '.', '_', '-').",
                             field="options.parent")
        if parent in ("lo",):
            raise BadRequest("The loopback interface cannot be a parent; choose a physical or veth interface.",
                             field="options.parent")
        for n in raw_networks:
            if n.get("Driver") == driver and (n.get("Options") or {}).get("parent") == parent:
                raise Conflict(f"Network {n['Name']!r} already uses parent interface {parent}; "
                               "use a VLAN sub-interface (e.g. eth0.10) or another interface.",
                               field="options.parent")
    if driver != "bridge":
        return
    mtu = options.get("com.docker.network.driver.mtu")
    if mtu not in (None, ""):
        if not str(mtu).isdigit() or not 68 <= int(mtu) <= 65535:
            raise BadRequest(f"The MTU must be a whole number from 68 to 65535, not {mtu!r}.",
                             field="options.com.docker.network.driver.mtu")
    for key in BOOLEAN_OPTIONS:
        v = options.get(key)
        if v not in (None, "") and str(v).lower() not in ("true", "false"):
            raise BadRequest(f"{key} takes true or false, not {v!r}.", field=f"options.{key}")
    hb = options.get("com.docker.network.bridge.host_binding_ipv4")
    if hb not in (None, ""):
        a = _addr(hb, "options.com.docker.network.bridge.host_binding_ipv4", "IPv4 address")
        if a.version != 4:
            raise BadRequest("The default host binding takes an IPv4 address.",
                             field="options.com.docker.network.bridge.host_binding_ipv4")
    bname = options.get("com.docker.network.bridge.name")
    if bname not in (None, ""):
        if not IFNAME_RE.match(bname):
            raise BadRequest(f"{bname!r} is not a valid bridge name (at most 15 letters, digits, '.', '_', '-').",
                             field="options.com.docker.network.bridge.name")
        for n in raw_networks:
            if (n.get("Options") or {}).get("com.docker.network.bridge.name") == bname:
                raise Conflict(f"Network {n['Name']!r} already uses the Linux bridge {bname}.",
                               field="options.com.docker.network.bridge.name")
    prefix = options.get("com.docker.network.container_interface_prefix")
    if prefix not in (None, "") and not PREFIX_RE.match(prefix):
        raise BadRequest("The interface prefix takes a letter then up to 9 letters or digits (like eth).",
                         field="options.com.docker.network.container_interface_prefix")


def _check_ipam(*, driver: str, ipam_config: list[dict], enable_ipv6: bool, raw_networks: list[dict]) -> None:
    seen: list[tuple[ipaddress._BaseNetwork, int]] = []
    families = {4: 0, 6: 0}
    for i, c in enumerate(ipam_config):
        f = f"ipam.config.{i}"
        subnet_s = (c.get("subnet") or "").strip()
        gateway_s = (c.get("gateway") or "").strip()
        range_s = (c.get("ip_range") or "").strip()
        aux = c.get("aux_addresses") or {}
        if not subnet_s:
            if gateway_s or range_s or aux:
                which = "gateway" if gateway_s else "ip_range" if range_s else "aux_addresses"
                raise BadRequest("A gateway, IP range or auxiliary address needs the subnet it belongs to.",
                                 field=f"{f}.{which}")
            continue
        subnet = _net(subnet_s, f"{f}.subnet")
        if subnet.version == 6 and not enable_ipv6:
            raise BadRequest(f"{subnet} is an IPv6 subnet: turn on IPv6 (--ipv6) or leave it out.",
                             field=f"{f}.subnet")
        families[subnet.version] += 1
        if driver == "bridge" and families[subnet.version] > 1:
            raise BadRequest(f"A bridge network takes one IPv{subnet.version} subnet; "
                             "only overlay networks take several.", field=f"{f}.subnet")
        for other, j in seen:
            if other.version == subnet.version and other.overlaps(subnet):
                raise BadRequest(f"{subnet} overlaps {other}, given above for the same network.", field=f"{f}.subnet")
        seen.append((subnet, i))

        gateway = None
        if gateway_s:
            gateway = _addr(gateway_s, f"{f}.gateway", "gateway IP address")
            if gateway.version != subnet.version or gateway not in subnet:
                raise BadRequest(f"The gateway {gateway} is outside the subnet {subnet}.", field=f"{f}.gateway")
            if subnet.num_addresses > 2 and subnet.version == 4 and gateway in (subnet.network_address,
                                                                                 subnet.broadcast_address):
                raise BadRequest(f"{gateway} is the {'network' if gateway == subnet.network_address else 'broadcast'} "
                                 f"address of {subnet}; choose a host address for the gateway.", field=f"{f}.gateway")
        if range_s:
            ip_range = _net(range_s, f"{f}.ip_range", "IP range")
            if ip_range.version != subnet.version:
                raise BadRequest(f"The IP range {ip_range} is not of the subnet's family (IPv{subnet.version}).",
                                 field=f"{f}.ip_range")
            if ip_range.prefixlen < subnet.prefixlen:
                raise BadRequest(f"The IP range {ip_range} is larger than the subnet {subnet}; "
                                 "it must be a part of it.", field=f"{f}.ip_range")
            if not ip_range.subnet_of(subnet):
                raise BadRequest(f"The IP range {ip_range} is outside the subnet {subnet}.", field=f"{f}.ip_range")
        for key, value in aux.items():
            if not str(key).strip():
                raise BadRequest("An auxiliary address needs a host name (name=address).", field=f"{f}.aux_addresses")
            a = _addr(str(value), f"{f}.aux_addresses", f"IP address for {key}")
            if a.version != subnet.version or a not in subnet:
                raise BadRequest(f"The auxiliary address {key}={a} is outside the subnet {subnet}.",
                                 field=f"{f}.aux_addresses")
            if gateway is not None and a == gateway:
                raise BadRequest(f"The auxiliary address {key}={a} is the gateway's address.", field=f"{f}.aux_addresses")

        for other, n in engine_subnets(raw_networks):
            if other.version == subnet.version and other.overlaps(subnet):
                raise Conflict(f"{subnet} overlaps {other} of network {n['Name']!r} (id {short(n['Id'])}); "
                               "choose a subnet no other network uses.", field=f"{f}.subnet",
                               detail={"network": n["Name"]})


# --- connect -----------------------------------------------------------------------------------

def _taken(raw_network: dict) -> dict:
    """address → who holds it, on this network."""
    held = {}
    for cid, ep in (raw_network.get("Containers") or {}).items():
        for key in ("IPv4Address", "IPv6Address"):
            v = (ep.get(key) or "").split("/")[0]
            if v:
                try:
                    held[ipaddress.ip_address(v)] = f"container {ep.get('Name') or short(cid)!r}"
                except ValueError:
                    pass
    for c in ((raw_network.get("IPAM") or {}).get("Config") or []):
        try:
            if c.get("Gateway"):
                held[ipaddress.ip_address(c["Gateway"].split("/")[0])] = "the gateway"
            for k, v in (c.get("AuxiliaryAddresses") or {}).items():
                held[ipaddress.ip_address(v)] = f"auxiliary address {k!r}"
        except ValueError:
            pass
    return held


def check_connect(*, raw_network: dict, raw_container: dict, ipv4_address: str, ipv6_address: str,
                  aliases: list[str], links: list[str], reserved: dict[str, str] | None = None) -> None:
    """`reserved`: fixed addresses that stopped containers hold on this network (address → name);
    the engine only notices those when the second container starts."""
    name = raw_network.get("Name", "")
    cname = (raw_container.get("Name") or "").lstrip("/")
    if name in ("host", "none"):
        raise BadRequest(f"Containers join the {name} network only when they are created (network mode {name}); "
                         "it cannot be connected afterwards.", field="network")
    mode = ((raw_container.get("HostConfig") or {}).get("NetworkMode") or "")
    if mode in ("host", "none") or mode.startswith("container:"):
        raise Conflict(f"Container {cname!r} uses network mode {mode}, so it cannot join other networks.",
                       field="container")
    attached = (raw_container.get("NetworkSettings") or {}).get("Networks") or {}
    for net_name, ep in attached.items():
        if (ep or {}).get("NetworkID") == raw_network["Id"] or net_name == name:
            addr = (ep or {}).get("IPAddress") or ""
            raise Conflict(f"Container {cname!r} is already connected to {name!r}"
                           f"{f' with address {addr}' if addr else ''}.", field="container")
    if name == "bridge" and (ipv4_address or ipv6_address or aliases):
        raise BadRequest("Fixed addresses and aliases work on user-defined networks only, not on the default bridge.",
                         field="ipv4_address" if ipv4_address else "ipv6_address" if ipv6_address else "aliases")
    subnets = []
    for c in ((raw_network.get("IPAM") or {}).get("Config") or []):
        try:
            subnets.append(ipaddress.ip_network(c.get("Subnet") or "", strict=False))
        except ValueError:
            pass
    taken = None
    for value, version, field in ((ipv4_address, 4, "ipv4_address"), (ipv6_address, 6, "ipv6_address")):
        if not value:
            continue
        a = _addr(value, field, f"IPv{version} address")
        if a.version != version:
            raise BadRequest(f"{a} is not an IPv{version} address.", field=field)
        if version == 6 and not raw_network.get("EnableIPv6"):
            raise BadRequest(f"Network {name!r} has IPv6 off; a fixed IPv6 address needs an IPv6 network.", field=field)
        mine = [s for s in subnets if s.version == version]
        if not mine:
            raise BadRequest(f"Network {name!r} has no IPv{version} subnet configured; "
                             "a fixed address needs one (create the network with --subnet).", field=field)
        inside = [s for s in mine if a in s]
        if not inside:
            raise BadRequest(f"{a} is outside the subnet{'s' if len(mine) > 1 else ''} of {name!r} "
                             f"({', '.join(map(str, mine))}).", field=field)
        s = inside[0]
        if version == 4 and s.num_addresses > 2 and a in (s.network_address, s.broadcast_address):
            raise BadRequest(f"{a} is the {'network' if a == s.network_address else 'broadcast'} address of {s}.",
                             field=field)
        if taken is None:
            taken = {}
            for addr, holder in (reserved or {}).items():
                try:
                    taken[ipaddress.ip_address(addr)] = f"stopped container {holder!r} (its fixed address)"
                except ValueError:
                    pass
            taken.update(_taken(raw_network))
        if a in taken:
            raise Conflict(f"{a} is already taken on {name!r} by {taken[a]}.", field=field)
    for alias in aliases:
        if not ALIAS_RE.match(alias):
            raise BadRequest(f"{alias!r} is not a valid alias (letters, digits, '_', '.', '-').", field="aliases")


def parse_links(links: list[str]) -> list[tuple[str, str]]:
    """['db:database', 'cache'] → [('db', 'database'), ('cache', 'cache')] (the --link forms)."""
    out = []
    for link in links:
        target, _, alias = str(link).strip().partition(":")
        target, alias = target.strip().lstrip("/"), (alias.strip() or target.strip().lstrip("/"))
        if not target or not ALIAS_RE.match(target) or not ALIAS_RE.match(alias):
            raise BadRequest(f"{link!r} is not a link: write container or container:alias.", field="links")
        out.append((target, alias))
    return out
