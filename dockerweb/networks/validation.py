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
from dockerweb.engine.networks import bridge_name
from dockerweb.inventory.parse import ipam_config_from_engine

from .choices import BOOLEAN_OPTIONS, HOST_INTERFACE_OPTIONS, PREDEFINED, SINGLETON_DRIVERS

# The engine takes any non-empty network name (measured on 28.2: '@#$%^', unicode, spaces, '/',
# 5,000 characters). Refused here only what breaks the name's use: control characters (they
# cannot be typed or shown, PostgreSQL cannot store NUL, the engine cannot look a newline up),
# '.' and '..' (web addresses drop such path segments, so the network could never be opened
# by its name), spaces at either end (forms trim them: the name could not be typed again), and
# more than the 255 characters the mirror keeps.
NAME_MAX = 255
# What the engine reads as a boolean option (Go's strconv.ParseBool), exactly.
BOOLEAN_WORDS = ("1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
IFNAME_RE = re.compile(r"^[a-zA-Z0-9_.@:-]{1,15}$")
ALIAS_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$")
PREFIX_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9]{0,9}$")
# A plugin reference (`owner/name:tag`) or a built-in name.
IPAM_DRIVER_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_./:-]{0,254}$")


def short(ident: str) -> str:
    return ident[:12]


def _net(value: str, field: str, what: str = "subnet") -> ipaddress._BaseNetwork:
    value = (value or "").strip()
    if value and "/" not in value:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            pass
        else:  # Python reads a bare address as /32 (or /128); the engine refuses it
            example = "10.40.0.0/24" if ":" not in value else "fd00:40::/64"
            raise BadRequest(f"{value} has no prefix length: write the {what} in CIDR notation, with the number of "
                             f"network bits after a slash (like {example}).", field=field)
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


def implied_gateway(*, subnet: str, gateway: str = "", ip_range: str = "") -> ipaddress._BaseAddress | None:
    """The gateway address of one IPAM config of the default IPAM driver: the one given, else
    the one the engine takes for itself without listing it in inspect — the first address of the
    IP range (the first after the subnet's own address when the range starts there), else the
    first host of the subnet. Measured on the engine for IPv4 and IPv6, bridge and macvlan."""
    try:
        if gateway:
            return ipaddress.ip_address(gateway.split("/")[0])
        net = ipaddress.ip_network(subnet, strict=False)
        first = ipaddress.ip_network(ip_range, strict=False).network_address if ip_range else net.network_address
    except ValueError:
        return None
    if first == net.network_address:
        first = first + 1
    return first if first in net else None


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a network's name here, or None: what the engine refuses (an empty
    name) and what breaks its use (see NAME_MAX)."""
    if not name or not name.strip():
        return "A network needs a name."
    if CONTROL_RE.search(name):
        return ("A network name cannot contain control characters (tab, newline and the like): they cannot be typed "
                "or shown, and the engine cannot find such a name.")
    if name != name.strip():
        return ("A network name cannot start or end with a space: forms drop such spaces, so the name could not be "
                "typed again.")
    if name in (".", ".."):
        return (f"{name!r} cannot be a network name: web addresses drop it as a path segment, so the network could "
                "never be opened by its name.")
    if len(name) > NAME_MAX:
        return f"A network name takes at most {NAME_MAX} characters here; this one has {len(name)}."
    if name.startswith("container:"):
        return ("A network name cannot start with 'container:': `docker run --network container:…` means another "
                "container's network namespace, so containers could not join this network by its name.")
    return None


# --- create ------------------------------------------------------------------------------------

def check_create(*, name: str, driver: str, options: dict, ipam_config: list[dict], enable_ipv6: bool,
                 labels: dict, raw_networks: list[dict], drivers: list[str], swarm_manager: bool,
                 ipam_driver: str = "default", ipam_options: dict | None = None,
                 ipam_drivers: list[str] | None = None) -> None:
    """Everything `docker network create` would be refused for, and what it lets through but
    should not (host bits, IPv6 values without IPv6, a subnet overlapping another network).
    `ipam_drivers`: the IPAM drivers the engine offers (None: not checked)."""
    problem = name_problem(name)
    if problem:
        raise BadRequest(problem, field="name")
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

    if not IPAM_DRIVER_RE.match(ipam_driver or ""):
        raise BadRequest(f"{ipam_driver!r} is not an IPAM driver name (like default, or a plugin's owner/name).",
                         field="ipam.driver")
    if ipam_drivers is not None and ipam_driver not in ipam_drivers:
        raise BadRequest(f"This engine has no IPAM driver {ipam_driver!r}; it offers {', '.join(ipam_drivers)} "
                         "(other IPAM drivers come as plugins: docker plugin install).", field="ipam.driver")
    for key in ipam_options or {}:
        if not str(key).strip():
            raise BadRequest("An IPAM option needs a key (--ipam-opt key=value).", field="ipam.options")
    _check_ipam(driver=driver, ipam_config=ipam_config, enable_ipv6=enable_ipv6, raw_networks=raw_networks,
                default_ipam=ipam_driver == "default")


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
        if parent.split(".", 1)[0] == "lo":
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
        if v not in (None, "") and str(v) not in BOOLEAN_WORDS:
            raise BadRequest(f"{key} takes true or false (or 1/0, t/f, as the engine reads them), not {v!r}.",
                             field=f"options.{key}")
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


def _check_ipam(*, driver: str, ipam_config: list[dict], enable_ipv6: bool, raw_networks: list[dict],
                default_ipam: bool = True) -> None:
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
        if default_ipam and subnet.prefixlen >= (31 if subnet.version == 4 else 128):
            why = "a /31 or /32 has no host address for it" if subnet.version == 4 else "a /128 is a single address"
            raise BadRequest(f"{subnet} is too small: the engine takes an address of the subnet for the gateway, and "
                             f"{why}. Use a {'/30' if subnet.version == 4 else '/127'} or larger.", field=f"{f}.subnet")
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
            if gateway is None and default_ipam and a == implied_gateway(subnet=str(subnet), ip_range=range_s):
                raise BadRequest(f"The auxiliary address {key}={a} is the address the engine takes for the gateway "
                                 f"when none is given (the first of the {'IP range' if range_s else 'subnet'}); "
                                 "choose another address or give the gateway.", field=f"{f}.aux_addresses")

        for other, n in engine_subnets(raw_networks):
            if other.version == subnet.version and other.overlaps(subnet):
                raise Conflict(f"{subnet} overlaps {other} of network {n['Name']!r} (id {short(n['Id'])}); "
                               "choose a subnet no other network uses.", field=f"{f}.subnet",
                               detail={"network": n["Name"]})


# --- host interfaces ---------------------------------------------------------------------------

def host_interface_options(*, driver: str, options: dict) -> list[tuple[str, str]]:
    """(field, value) of every option that names an interface of the engine's machine: the
    bridge's name (the engine takes over an existing interface of that name and replaces its
    addresses), a macvlan/ipvlan parent (the network's containers appear on that link), the
    interfaces trusted to reach published ports directly. Naming one is `network.host_interface`."""
    out = []
    for key in HOST_INTERFACE_OPTIONS:
        value = str(options.get(key) or "").strip()
        if value and (key != "parent" or driver in ("macvlan", "ipvlan")):
            out.append((f"options.{key}", value))
    return out


def engine_bridges(raw_networks: list[dict]) -> dict[str, str]:
    """Linux bridge name → the network it belongs to, for the engine's bridge networks."""
    return {b: n.get("Name", "") for n in raw_networks if (b := bridge_name(n))}


def check_host_interfaces(*, driver: str, options: dict, interfaces: set[str], raw_networks: list[dict]) -> None:
    """Even for admins: a bridge name may not be an interface that exists on the engine's machine
    (`interfaces`, read just now) — the engine would adopt it, so an uplink bridge would lose its
    addresses — nor another network's bridge; a macvlan/ipvlan parent must exist and may not be
    one of the engine's own bridges (nor loopback)."""
    bridges = engine_bridges(raw_networks)
    bname = str(options.get("com.docker.network.bridge.name") or "").strip()
    if bname and driver == "bridge":
        field = "options.com.docker.network.bridge.name"
        if bname in bridges:
            raise Conflict(f"{bname} is the Linux bridge of network {bridges[bname]!r}; every network needs a bridge "
                           "of its own.", field=field)
        if bname in interfaces:
            raise Conflict(f"The engine's machine already has an interface named {bname}: the engine would take it "
                           "over as this network's bridge and replace its addresses, cutting off whatever uses it. "
                           "Choose a name no interface has, or leave it empty for br-<network id>.", field=field)
    parent = str(options.get("parent") or "").strip()
    if parent and driver in ("macvlan", "ipvlan"):
        base = parent.split(".", 1)[0]
        if base == "lo":
            raise BadRequest("The loopback interface cannot be a parent; choose a physical or veth interface.",
                             field="options.parent")
        if base in bridges:
            raise Conflict(f"{base} is the Linux bridge of network {bridges[base]!r}, made by the engine itself; a "
                           f"{driver} parent must be an interface of the machine, not one of the engine's bridges.",
                           field="options.parent")
        if base not in interfaces:
            raise BadRequest(f"The engine's machine has no interface {base!r} to use as the parent"
                             f"{' (a VLAN sub-interface like eth0.10 needs its interface, eth0)' if base != parent else ''}.",
                             field="options.parent")


# --- connect -----------------------------------------------------------------------------------

def ipam_reserved(ipam_config: list[dict], *, ipam_driver: str = "default") -> dict:
    """address → what holds it, of a network's IPAM configs in the mirror's shape ({subnet,
    gateway, ip_range, aux_addresses}): the gateway — given, or with the default IPAM driver the
    one the engine took without listing it — and the auxiliary addresses. No container may take
    these; the engine refuses them only once it has half-made the endpoint."""
    held = {}
    for c in ipam_config or []:
        try:
            if c.get("gateway"):
                held[ipaddress.ip_address(c["gateway"].split("/")[0])] = "the gateway"
            elif (ipam_driver or "default") == "default" and c.get("subnet"):
                gw = implied_gateway(subnet=c["subnet"], ip_range=c.get("ip_range") or "")
                if gw is not None:
                    where = "IP range" if c.get("ip_range") else "subnet"
                    held[gw] = f"the gateway (the engine takes the first address of the {where} when none is given)"
            for k, v in (c.get("aux_addresses") or {}).items():
                held[ipaddress.ip_address(v)] = f"auxiliary address {k!r}"
        except ValueError:
            pass
    return held


def _taken(raw_network: dict) -> dict:
    """address → who holds it, on this network (containers, the gateway, auxiliary addresses)."""
    held = {}
    for cid, ep in (raw_network.get("Containers") or {}).items():
        for key in ("IPv4Address", "IPv6Address"):
            v = (ep.get(key) or "").split("/")[0]
            if v:
                try:
                    held[ipaddress.ip_address(v)] = f"container {ep.get('Name') or short(cid)!r}"
                except ValueError:
                    pass
    ipam = raw_network.get("IPAM") or {}
    held.update(ipam_reserved(ipam_config_from_engine(ipam.get("Config")), ipam_driver=ipam.get("Driver") or "default"))
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
