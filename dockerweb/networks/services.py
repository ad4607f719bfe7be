"""Writes of networks: `docker network create / connect / disconnect / rm / prune`.

Each one is permission-checked and logged (`core.services.change`), checks the request against
the engine's current state before calling it (`validation`), calls the engine with full ids,
translates what the engine still refuses into a sentence on the right field, and refreshes the
mirror from the engine's answer (never from the input)."""
from __future__ import annotations

import re

from dockerweb.core.errors import AppError, BadRequest, Conflict, NotFound, PermissionDenied, Unavailable
from dockerweb.core.permissions import may
from dockerweb.core.services import change
from dockerweb.engine import networks as engine
from dockerweb.inventory.models import Container, Host, Network
from dockerweb.inventory.services import container_fetch, container_sync, network_fetch, network_forget, network_sync

from . import validation
from .choices import HOST_INTERFACE_OPTIONS, PREDEFINED
from .selectors import network_fixed_addresses, network_prune_candidates

# What the engine says → (error class, field, our sentence or None to keep the engine's).
_ENGINE_REFUSALS: list[tuple[re.Pattern, type[AppError], str | None, str | None]] = [
    (re.compile(r"supported only when connecting to networks with user configured subnets", re.I), BadRequest,
     "ipv4_address", "This network's subnet was chosen by the engine, not configured: fixed addresses need a "
                     "network created with --subnet."),
    (re.compile(r"user specified IP address is supported on user defined networks only", re.I), BadRequest,
     "ipv4_address", "Fixed addresses work on user-defined networks only."),
    (re.compile(r"invalid subinterface vlan name|no such network interface|Link not found", re.I), BadRequest,
     "options.parent", "The engine's machine has no interface {parent!r} to use as the parent "
                       "(and it is not a VLAN sub-interface name like eth0.10)."),
    (re.compile(r"not a valid (macvlan|ipvlan) parent|failed to create .* vlan link|operation not supported", re.I),
     BadRequest, "options.parent", None),
    (re.compile(r"already using parent interface", re.I), Conflict, "options.parent", None),
    (re.compile(r"non-overlapping IPv6 address pool", re.I), BadRequest, "enable_ipv6",
     "This engine has no default IPv6 pool: give an IPv6 subnet (like fd00:40::/64)."),
    (re.compile(r"failed to allocate gateway|no available addresses on this pool", re.I), BadRequest,
     "ipam.config.0.subnet", "The engine found no address for the network's gateway in this subnet; give a larger "
                             "subnet (a /30 or more for IPv4) or a gateway inside it."),
    (re.compile(r"invalid subnet|invalid CIDR address", re.I), BadRequest, "ipam.config.0.subnet",
     "The engine did not accept this subnet: write it in CIDR notation, like 10.40.0.0/24."),
    (re.compile(r"invalid name", re.I), BadRequest, "name", "The engine did not accept this network name."),
    (re.compile(r"overlap", re.I), Conflict, "ipam.config.0.subnet", None),
    (re.compile(r"not a swarm manager", re.I), Conflict, "driver", None),
    (re.compile(r"ipam driver|pool is empty", re.I), BadRequest, "ipam.driver", None),
    (re.compile(r"plugin .* not found", re.I), BadRequest, "driver", None),
    (re.compile(r"only one instance of", re.I), Conflict, "driver", None),
    (re.compile(r"failed to parse .*(mtu|option)|invalid option", re.I), BadRequest, "options", None),
    (re.compile(r"Address already in use", re.I), Conflict, "ipv4_address", None),
    (re.compile(r"does not belong to any of this network's subnets|out of range", re.I), BadRequest, "ipv4_address", None),
    (re.compile(r"already exists", re.I), Conflict, "name", None),
    (re.compile(r"has active endpoints", re.I), Conflict, None, None),
    (re.compile(r"is not connected to", re.I), Conflict, "container", None),
]


def _reword(exc: AppError, *, fields: set[str] | None = None, **facts) -> AppError:
    """A more precise error for an engine refusal we recognise; `fields` limits which fields
    apply; `facts` fill the sentence (`{parent}`)."""
    if isinstance(exc, Unavailable) or exc.field:
        return exc
    for pattern, cls, field, sentence in _ENGINE_REFUSALS:
        if pattern.search(exc.message) and (fields is None or field is None or field in fields):
            try:
                text = sentence.format(**facts) if sentence else exc.message
            except (KeyError, IndexError):
                text = exc.message
            return cls(text, field=field)
    return exc


def _engine_networks(host: Host) -> list[dict]:
    return engine.network_list(host)


def _host_interfaces_check(*, actor, host: Host, ch, driver: str, options: dict) -> list[tuple[str, str]]:
    """Options naming an interface of the engine's machine are admin-only (403, before anything
    else is looked at); returns them for the checks that apply even to admins."""
    named = validation.host_interface_options(driver=driver, options=options)
    if named:
        ch.detail["host_interfaces"] = dict(named)
        if not may(actor, "network.host_interface", host):
            field, value = named[0]
            key = field.removeprefix("options.")
            raise PermissionDenied(
                f"Refused: -o {key}={value} names a network interface of the host's machine ("
                f"{HOST_INTERFACE_OPTIONS[key]}). This needs the admin role (network.host_interface).", field=field)
    return named


def network_create(*, actor, host: Host, name: str, driver: str = "bridge", options: dict | None = None,
                   ipam_config: list[dict] | None = None, internal: bool = False, attachable: bool = False,
                   enable_ipv6: bool = False, labels: dict | None = None, ipam_driver: str = "default",
                   ipam_options: dict | None = None) -> Network:
    """`docker network create`: checked against the engine's networks first, then created; returns
    the mirror row made from the engine's inspect. Options that name a host interface (bridge
    name, macvlan/ipvlan parent) need the admin role and are checked against the interfaces the
    engine's machine has right now. The IPAM driver and its options are sent as given, or refused."""
    name = name or ""  # as given: the engine takes spaces, and `check_create` says why ones at the ends are refused
    driver = (driver or "bridge").strip()
    options = {str(k).strip(): str(v) for k, v in (options or {}).items() if str(v) != "" or str(k).strip() == ""}
    labels = {str(k).strip(): str(v) for k, v in (labels or {}).items()}
    ipam_config = [
        {"subnet": (c.get("subnet") or "").strip(), "gateway": (c.get("gateway") or "").strip(),
         "ip_range": (c.get("ip_range") or "").strip(),
         "aux_addresses": {str(k).strip(): str(v).strip() for k, v in (c.get("aux_addresses") or {}).items()}}
        for c in (ipam_config or [])
    ]
    ipam_config = [c for c in ipam_config if any(c.values())]
    ipam_driver = (ipam_driver or "").strip() or "default"
    ipam_options = {str(k).strip(): str(v) for k, v in (ipam_options or {}).items()}
    detail = {"driver": driver, "subnets": [c["subnet"] for c in ipam_config if c["subnet"]]}
    if ipam_driver != "default" or ipam_options:
        detail.update({"ipam_driver": ipam_driver, "ipam_options": ipam_options})
    with change(user=actor, action="network.create", host=host, target=name, detail=detail) as ch:
        named = _host_interfaces_check(actor=actor, host=host, ch=ch, driver=driver, options=options)
        raw_networks = _engine_networks(host)
        validation.check_create(
            name=name, driver=driver, options=options, ipam_config=ipam_config, enable_ipv6=enable_ipv6,
            labels=labels, raw_networks=raw_networks, drivers=engine.network_drivers(host),
            swarm_manager=host.is_swarm_manager, ipam_driver=ipam_driver, ipam_options=ipam_options,
            ipam_drivers=engine.ipam_drivers(host) if ipam_driver != "default" else None,
        )
        if named:
            # Read now, not cached: an interface made a second ago is the one this would take over.
            validation.check_host_interfaces(driver=driver, options=options, interfaces=engine.host_interfaces(host),
                                             raw_networks=raw_networks)
        try:
            network_id = engine.network_create(
                host, name=name, driver=driver, options=options, ipam_config=ipam_config, internal=internal,
                attachable=attachable, enable_ipv6=enable_ipv6, labels=labels, ipam_driver=ipam_driver,
                ipam_options=ipam_options,
            )
        except AppError as exc:
            if ipam_driver != "default" and isinstance(exc, NotFound) and ipam_driver in exc.message:
                raise BadRequest(f"This engine has no IPAM driver {ipam_driver!r} (it answered: {exc.message}).",
                                 field="ipam.driver") from exc
            raise _reword(exc, parent=options.get("parent", "")) from exc
        ch.detail["id"] = network_id
        network = network_sync(host=host, network_id=network_id)
        if network is None:  # removed between create and inspect by someone else
            raise NotFound(f"Network {name!r} was created but is already gone from the engine.")
        return network


def network_remove(*, actor, host: Host, ident: str) -> None:
    """`docker network rm`: refused for predefined networks (403) and networks that containers
    still use (409, naming them)."""
    with change(user=actor, action="network.remove", host=host, target=ident) as ch:
        network, raw = network_fetch(host=host, ident=ident)
        ch.target, ch.detail["id"] = network.name, network.engine_id
        if network.name in PREDEFINED:
            raise PermissionDenied(f"{network.name!r} is a predefined network of the engine; no one can remove it.")
        users = sorted((ep.get("Name") or cid[:12]) for cid, ep in (raw.get("Containers") or {}).items())
        if users:
            raise Conflict(f"Network {network.name!r} is still used by {', '.join(users)}; "
                           "disconnect or remove them first.", detail={"containers": users})
        try:
            engine.network_remove(host, network.engine_id)
        except NotFound:
            pass  # already gone: the wish is fulfilled
        except AppError as exc:
            raise _reword(exc, fields=set()) from exc
        network_forget(host=host, network_id=network.engine_id)


def network_remove_many(*, actor, host: Host, idents: list[str]) -> dict:
    """`docker network rm A B …`: each removal on its own (and logged on its own); returns
    `{removed: [names], errors: {ident: sentence}}`."""
    removed, errors = [], {}
    for ident in idents:
        try:
            name = network_fetch(host=host, ident=ident)[0].name
        except NotFound as exc:
            name = None
            errors[ident] = exc.message
        if name is None:
            continue
        try:
            network_remove(actor=actor, host=host, ident=ident)
            removed.append(name)
        except AppError as exc:
            errors[ident] = exc.message
    return {"removed": removed, "errors": errors}


def network_connect(*, actor, host: Host, network: str, container: str, ipv4_address: str = "",
                    ipv6_address: str = "", aliases: list[str] | None = None,
                    links: list[str] | None = None) -> Container:
    """`docker network connect [--ip] [--ip6] [--alias] [--link] NETWORK CONTAINER`; returns the
    container's refreshed mirror row."""
    ipv4_address, ipv6_address = (ipv4_address or "").strip(), (ipv6_address or "").strip()
    aliases = [a.strip() for a in (aliases or []) if a and a.strip()]
    links = [l.strip() for l in (links or []) if l and l.strip()]
    detail = {k: v for k, v in {"ipv4_address": ipv4_address, "ipv6_address": ipv6_address, "aliases": aliases,
                                "links": links}.items() if v}
    with change(user=actor, action="network.connect", host=host, target=f"{container} → {network}",
                detail=detail) as ch:
        net, raw_net = network_fetch(host=host, ident=network)
        row, raw_c = container_fetch(host=host, ident=container)
        ch.target = f"{row.name} → {net.name}"
        ch.detail.update({"network": net.engine_id, "container": row.engine_id})
        validation.check_connect(raw_network=raw_net, raw_container=raw_c, ipv4_address=ipv4_address,
                                 ipv6_address=ipv6_address, aliases=aliases, links=links,
                                 reserved=network_fixed_addresses(host=host, network=net))
        pairs = validation.parse_links(links)
        link_ids = []
        for target, alias in pairs:
            linked = container_fetch(host=host, ident=target, field="links")[0]
            link_ids.append((linked.name, alias))
        try:
            engine.network_connect(host, net.engine_id, row.engine_id, ipv4_address=ipv4_address,
                                   ipv6_address=ipv6_address, aliases=aliases, links=link_ids)
        except AppError as exc:
            err = _reword(exc, fields={"ipv4_address", "ipv6_address", "container", "network"})
            if err.field == "ipv4_address" and ipv6_address and not ipv4_address:
                err.field = "ipv6_address"
            undo = _connect_undo(host=host, network=net, container_id=row.engine_id)
            if undo:
                ch.detail["undo"] = undo
                if undo.startswith("left"):
                    err.message += (f" The engine also left a half-made entry for {net.name!r} in container "
                                    f"{row.name!r} that dockerweb could not remove ({undo}); stop the container "
                                    "and disconnect it from that network to clear it.")
            raise err from exc
        network_sync(host=host, network_id=net.engine_id)
        return container_sync(host=host, container_id=row.engine_id)


def _entry_for(raw_container: dict, network: Network) -> tuple[str, dict] | None:
    """The container's entry for `network` (its key, which is the network's name, and the
    entry), if the engine holds one."""
    for key, ep in (((raw_container.get("NetworkSettings") or {}).get("Networks")) or {}).items():
        if (ep or {}).get("NetworkID") == network.engine_id or key == network.name:
            return key, ep or {}
    return None


def _connect_undo(*, host: Host, network: Network, container_id: str) -> str | None:
    """After the engine refused a connect, make the container and the mirror what they were.

    The engine writes the container's entry for the network before it makes the endpoint, and
    does not take it back when the endpoint fails (an address in use): a ghost entry, with no
    endpoint, that keeps the container from starting again. `check_connect` has made sure the
    container had no entry for this network before, so any entry now is the refused request's.
    The engine removes an entry from a stopped container by the key it is stored under; from a
    running one only with its endpoint, so a ghost first gets a plain endpoint (no address asked)
    that the disconnect then takes away with it. Returns what was done, for the activity log:
    None (nothing was left), "removed", "left: <why>", or "unchecked: <why>" (the engine did not
    answer; the next reconcile repairs the mirror)."""
    try:
        raw = engine.container_inspect(host, container_id)
    except NotFound:
        raw = None
    except AppError as exc:
        return f"unchecked: {exc.message}"
    found = _entry_for(raw, network) if raw else None
    outcome = None
    if found:
        key, entry = found
        outcome = "removed"
        try:
            if (raw.get("State") or {}).get("Running"):
                if not entry.get("EndpointID"):
                    engine.network_connect(host, network.engine_id, container_id)
                engine.network_disconnect(host, network.engine_id, container_id, force=True)
            else:
                try:
                    engine.network_disconnect(host, network.engine_id, container_id, force=True)
                except AppError:
                    # Some engines (28.2, measured) look a stopped container's entry up by the
                    # exact string given, and the entry is stored under the network's name.
                    engine.network_disconnect(host, key, container_id, force=True)
        except AppError as exc:
            outcome = f"left: {exc.message}"
        try:
            if _entry_for(engine.container_inspect(host, container_id), network):
                outcome = outcome if outcome.startswith("left") else "left: the engine still lists it"
            else:
                outcome = "removed"
        except NotFound:
            outcome = "removed"  # the container went away meanwhile: nothing is left of it
        except AppError as exc:
            outcome = f"unchecked: {exc.message}"
    try:
        network_sync(host=host, network_id=network.engine_id)
        container_sync(host=host, container_id=container_id)
    except AppError:
        pass  # the engine went away: the next reconcile repairs the mirror
    return outcome


def _missing_entry(attached: dict, ident: str) -> str | None:
    """The name of the container's entry (`attached`: NetworkSettings.Networks) for a network the
    host no longer has, named by `ident`: the entry's name, the id it holds, or a prefix of it."""
    for name, ep in attached.items():
        nid = (ep or {}).get("NetworkID") or ""
        if ident == name or (nid and (ident == nid or (len(ident) >= 3 and nid.startswith(ident)))):
            return name
    return None


def network_disconnect(*, actor, host: Host, network: str, container: str, force: bool = False) -> Container | None:
    """`docker network disconnect [--force] NETWORK CONTAINER`. Also for the two cases the
    engine handles its own way: a container never started (its entry holds no network id yet)
    and an entry for a network that no longer exists (a stopped container keeps it and cannot
    start until it goes; the engine lets it go by the entry's name only)."""
    with change(user=actor, action="network.disconnect", host=host, target=f"{container} ← {network}",
                detail={"force": force}) as ch:
        row, raw_c = container_fetch(host=host, ident=container)
        attached = (raw_c.get("NetworkSettings") or {}).get("Networks") or {}
        try:
            net, raw_net = network_fetch(host=host, ident=network)
        except NotFound:
            name = _missing_entry(attached, (network or "").strip())
            if name is None:
                raise
            ch.target = f"{row.name} ← {name} (a network that no longer exists)"
            ch.detail.update({"container": row.engine_id, "missing_network": name})
            try:
                engine.network_disconnect(host, name, row.engine_id, force=False)
            except AppError as exc:
                raise _reword(exc, fields={"container"}) from exc
            return container_sync(host=host, container_id=row.engine_id)
        ch.target = f"{row.name} ← {net.name}"
        ch.detail.update({"network": net.engine_id, "container": row.engine_id})
        on_it = any((ep or {}).get("NetworkID") == net.engine_id or (name == net.name and not (ep or {}).get("NetworkID"))
                    for name, ep in attached.items()) or row.engine_id in (raw_net.get("Containers") or {})
        if not on_it and not force:
            raise Conflict(f"Container {row.name!r} is not connected to {net.name!r}.", field="container")
        if net.name == "host":
            raise BadRequest("A container in host mode cannot leave the host network; recreate it instead.",
                             field="network")
        try:
            engine.network_disconnect(host, net.engine_id, row.engine_id, force=force)
        except AppError as exc:
            raise _reword(exc, fields={"container"}) from exc
        network_sync(host=host, network_id=net.engine_id)
        return container_sync(host=host, container_id=row.engine_id)


def network_prune(*, actor, host: Host, dry_run: bool = False, only: list[str] | None = None) -> list[str]:
    """`docker network prune`: the networks no container uses (never the predefined ones).

    With `dry_run` nothing changes and the names that would go are returned. Otherwise exactly
    those candidates are removed one by one by full id — limited to `only` (ids or names, e.g.
    what a preview showed) when given — so nothing outside the preview can go."""
    if dry_run:
        return [n["Name"] for n in network_prune_candidates(host=host)]
    with change(user=actor, action="network.prune", host=host, target=host.name) as ch:
        candidates = network_prune_candidates(host=host)
        if only is not None:
            wanted = set(only)
            candidates = [n for n in candidates if n["Id"] in wanted or n["Name"] in wanted]
        removed, skipped = [], {}
        for n in candidates:
            try:
                engine.network_remove(host, n["Id"])
            except NotFound:
                pass
            except AppError as exc:  # a container joined it since the preview
                skipped[n["Name"]] = exc.message
                network_sync(host=host, network_id=n["Id"])
                continue
            network_forget(host=host, network_id=n["Id"])
            removed.append(n["Name"])
        ch.detail.update({"removed": removed, **({"skipped": skipped} if skipped else {})})
        return removed
