"""Writes of containers: run, start, stop, restart, remove.

Each goes to the engine first; the mirror is then refreshed from the engine's answer. Every body
that creates a container passes `safety.container_config_check` right before it is sent."""
from __future__ import annotations

import ipaddress

from dockerweb.core.errors import AppError, BadRequest, Conflict, NotFound
from dockerweb.core.services import change
from dockerweb.engine import containers as engine
from dockerweb.engine import images as engine_images
from dockerweb.engine import inventory as engine_inventory
from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.models import Container, Host, PortBinding
from dockerweb.inventory.services import container_fetch, container_forget, container_sync, volume_sync
from dockerweb.networks.selectors import network_fixed_addresses
from dockerweb.networks.validation import ipam_reserved

from . import safety
from .spec import RunPlan, run_plan

_WILDCARDS = ("", "0.0.0.0", "::")


def _container_exists(host: Host, ident: str) -> dict | None:
    try:
        return engine_inventory.container_inspect(host, ident)
    except NotFound:
        return None


def _validate_against_host(host: Host, plan: RunPlan) -> None:
    """The 4xx a person should get before the engine is asked anything that changes it."""
    if engine_images.image_inspect(host, plan.image) is None:
        raise BadRequest(f"Image {plan.image!r} is not on host {host.name!r}, and dockerweb cannot pull images "
                         "here (no registry is reachable from it). Load or build the image on the host first, "
                         "or choose one of its local images.", field="image")
    if plan.name and (Container.objects.filter(host=host, name=plan.name).exists() or _container_exists(host, plan.name)):
        raise Conflict(f"The name {plan.name!r} is already in use by a container on {host.name}; choose another "
                       "or remove that container.", field="name")
    if plan.netns_container:
        raw = _container_exists(host, plan.netns_container)
        if raw is None:
            raise BadRequest(f"Network mode container:{plan.netns_container} names a container that does not "
                             f"exist on {host.name}.", field="network")
        if not (raw.get("State") or {}).get("Running"):
            raise Conflict(f"Container {plan.netns_container!r} is not running, so there is no network "
                           "namespace to join; start it first.", field="network")
        # The engine keeps `container:<id>`: the link survives a rename of the source.
        plan.config["HostConfig"]["NetworkMode"] = f"container:{raw['Id']}"
    elif plan.network not in ("bridge", "host", "none"):
        _validate_network(host, plan)
    for source in plan.volumes_from:
        if _container_exists(host, source) is None:
            raise BadRequest(f"--volumes-from {source!r}: there is no such container on {host.name}.",
                             field="volumes_from")
    for target in plan.links:
        if _container_exists(host, target) is None:
            raise BadRequest(f"--link {target!r}: there is no such container on {host.name}.", field="links")
    _validate_ports(host, plan)


def _validate_network(host: Host, plan: RunPlan) -> None:
    try:
        network = inventory.network_get(host=host, ident=plan.network)
    except NotFound:
        raise BadRequest(f"There is no network {plan.network!r} on {host.name}.", field="network") from None
    # The person may have named the network by an id prefix: send the engine its exact name.
    plan.config["HostConfig"]["NetworkMode"] = network.name
    endpoint = ((plan.config.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}).pop(plan.network, None)
    if endpoint is not None:
        plan.config["NetworkingConfig"]["EndpointsConfig"][network.name] = endpoint
    ipam = (endpoint or {}).get("IPAMConfig") or {}
    for key, family in (("IPv4Address", 4), ("IPv6Address", 6)):
        address = ipam.get(key)
        if not address:
            continue
        field = "ipv4_address" if family == 4 else "ipv6_address"
        subnets = [ipaddress.ip_network(s, strict=False) for s in network.subnets()]
        subnets = [s for s in subnets if s.version == family]
        # A network created without a subnet reports the pool it was given all the same; the
        # engine's own refusal for those is translated in `_engine_refusal`.
        if network.driver not in ("bridge", "macvlan", "ipvlan", "overlay") or not network.subnets():
            raise BadRequest(f"Network {network.name!r} cannot take a fixed address: only networks created with "
                             "their own subnet can (docker's --ip rule).", field=field)
        if not subnets:
            raise BadRequest(f"Network {network.name!r} has no IPv{family} subnet for {address}.", field=field)
        if not any(ipaddress.ip_address(address) in s for s in subnets):
            raise BadRequest(f"{address} is outside the subnets of {network.name!r} "
                             f"({', '.join(map(str, subnets))}).", field=field)
        taken = network.endpoints.filter(**{"ipv4_address" if family == 4 else "ipv6_address": address}).first()
        if taken:
            raise Conflict(f"{address} is already used by {taken.container.name!r} on {network.name!r}.", field=field)
        # A container not running (or never started) holds its fixed address all the same: the
        # engine would notice only when the second one starts.
        holder = network_fixed_addresses(host=host, network=network).get(address)
        if holder:
            raise Conflict(f"{address} is the fixed address of container {holder!r} on {network.name!r} (not "
                           "running now, but it takes it back when it starts).", field=field)
        # The gateway the engine chose is listed nowhere, and the engine refuses it only at start.
        held = ipam_reserved(network.ipam_config, ipam_driver=network.ipam_driver).get(ipaddress.ip_address(address))
        if held:
            raise Conflict(f"{address} is {held} of {network.name!r}; choose another address.", field=field)


def _validate_ports(host: Host, plan: RunPlan) -> None:
    seen = set()
    for ip, port, proto in plan.published:
        if (ip, port, proto) in seen:
            raise BadRequest(f"Host port {port}/{proto} is published twice.", field="ports")
        seen.add((ip, port, proto))
        clash = PortBinding.objects.filter(container__host=host, host_port=port, protocol=proto,
                                           container__state__in=("running", "restarting", "paused"))
        for b in clash.select_related("container"):
            if ip in _WILDCARDS or b.host_ip in _WILDCARDS or b.host_ip == ip:
                raise Conflict(f"Host port {port}/{proto} is already taken by container {b.container.name!r} "
                               f"({b}).", field="ports")


def _engine_refusal(exc: AppError, plan: RunPlan) -> AppError:
    """The engine's refusals of a create or start, as the field they belong to."""
    text = exc.message.lower()
    if "port is already allocated" in text or ("address already in use" in text and plan.published):
        return Conflict(f"A host port is already taken: {exc.message}", field="ports")
    if "user specified ip address is supported only" in text:
        return BadRequest(f"Network {plan.network!r} cannot take a fixed address: only networks created with "
                          "their own subnet can (docker's --ip rule).", field="ipv4_address")
    if "address already in use" in text or "no available ip" in text or "invalid address" in text:
        return Conflict(exc.message, field="ipv4_address")
    if "name" in text and "in use" in text:
        return Conflict(exc.message, field="name")
    return exc


def container_run(*, actor, host: Host, data: dict) -> Container | dict:
    """`docker run -d …`: validate, check host safety, create, start, mirror.

    Returns the mirror row, or `{id, name, state: "removed"}` when an auto-remove container has
    already finished and gone by the time it is mirrored."""
    target = str(data.get("name") or "")[:100] if isinstance(data, dict) else ""
    with change(user=actor, action="container.run", host=host, target=target or "(unnamed)",
                detail={"image": str(data.get("image"))[:200] if isinstance(data, dict) else None}) as ch:
        plan = run_plan(data)
        _validate_against_host(host, plan)
        # The one gate: the exact body, right before it is sent (the engine call takes nothing else).
        cleared = safety.container_config_check(user=actor, host=host, config=plan.config)
        try:
            container_id = engine.container_create(host, name=plan.name, config=cleared)
        except NotFound as exc:
            raise BadRequest(exc.message, field="image" if "image" in exc.message.lower() else None) from exc
        except AppError as exc:
            raise _engine_refusal(exc, plan) from exc
        ch.detail["id"] = container_id
        try:
            safety.container_created_check(user=actor, host=host,
                                           raw=engine_inventory.container_inspect(host, container_id))
        except AppError:
            engine.container_remove(host, container_id, force=True, volumes=True)
            container_sync(host=host, container_id=container_id)  # forgets it, if the watcher saw it
            raise
        try:
            engine.container_start(host, container_id)
        except AppError as exc:
            # A container that cannot start is not what was asked for: take it back, and make the
            # mirror say so (the watcher may have mirrored it in between).
            try:
                engine.container_remove(host, container_id, force=True, volumes=True)
            except AppError:
                pass
            try:
                container_sync(host=host, container_id=container_id)
            except AppError:
                pass
            raise _engine_refusal(exc, plan) from exc
        container = container_sync(host=host, container_id=container_id)
        if container is None:
            return {"id": container_id, "name": plan.name, "state": "removed"}
        ch.target = container.name
        return container


def _act(*, actor, host: Host, ident: str, action: str, call) -> Container | None:
    # The engine decides what exists (a container made by the CLI a moment ago may not be mirrored yet).
    container = container_fetch(host=host, ident=ident)[0]
    with change(user=actor, action=f"container.{action}", host=host, target=container.name,
                detail={"id": container.engine_id}):
        call(container.engine_id)
        return container_sync(host=host, container_id=container.engine_id)


def container_start(*, actor, host: Host, ident: str) -> Container | None:
    def start(cid: str) -> None:
        try:
            engine.container_start(host, cid)
        except NotFound as exc:
            if "network" not in exc.message.lower():
                raise
            # The engine names the network by an id that no longer exists: say which entry it is.
            missing = [e.network_name for e in inventory.container_get(host=host, ident=cid).endpoints.all()
                       if e.network_missing]
            raise Conflict(f"The container is attached to {', '.join(map(repr, missing)) or 'a network'} that no "
                           "longer exists; disconnect it from that network, then start the container.",
                           field="network", detail={"missing_networks": missing}) from exc
    return _act(actor=actor, host=host, ident=ident, action="start", call=start)


def container_stop(*, actor, host: Host, ident: str, timeout: int = 10) -> Container | None:
    """Stop; an auto-remove container is gone afterwards (returns None)."""
    return _act(actor=actor, host=host, ident=ident, action="stop",
                call=lambda cid: engine.container_stop(host, cid, timeout=timeout))


def container_restart(*, actor, host: Host, ident: str, timeout: int = 10) -> Container | None:
    return _act(actor=actor, host=host, ident=ident, action="restart",
                call=lambda cid: engine.container_restart(host, cid, timeout=timeout))


BULK_ACTIONS = ("start", "stop", "remove")


def container_bulk(*, actor, host: Host, action: str, idents: list[str], force: bool = False,
                   volumes: bool = False) -> dict:
    """`docker start|stop|rm A B …`: each container on its own, through the one-container
    service (so each is checked and logged on its own). A refusal (403, 404, 409…) is that
    container's outcome; the others go on. Returns `{done: [names], errors: {ident: sentence}}`,
    in the order given."""
    if action not in BULK_ACTIONS:
        raise BadRequest(f"Unknown action {action!r}: choose one of {', '.join(BULK_ACTIONS)}.", field="action")
    done, errors = [], {}
    for ident in dict.fromkeys(idents):  # each once, in the order given
        if not ident.strip():
            errors[ident] = "A container name or id is needed here (this one is blank)."
            continue
        try:
            if action == "remove":
                name = container_fetch(host=host, ident=ident)[0].name
                container_remove(actor=actor, host=host, ident=ident, force=force, volumes=volumes)
            else:
                call = container_start if action == "start" else container_stop
                row = call(actor=actor, host=host, ident=ident)
                name = row.name if row is not None else ident
            done.append(name)
        except AppError as exc:
            errors[ident] = exc.message
    return {"done": done, "errors": errors}


def container_remove(*, actor, host: Host, ident: str, force: bool = False, volumes: bool = False) -> None:
    """`docker rm [-f] [-v]`: with `volumes`, its anonymous volumes go too (named ones never)."""
    container = container_fetch(host=host, ident=ident)[0]
    volume_names = [m.name for m in container.mounts.all() if m.type == "volume" and m.name]
    with change(user=actor, action="container.remove", host=host, target=container.name,
                detail={"id": container.engine_id, "force": force, "volumes": volumes}):
        if container.state == "running" and not force:
            raise Conflict(f"Container {container.name!r} is running; stop it first or remove with force.",
                           field="force")
        engine.container_remove(host, container.engine_id, force=force, volumes=volumes)
        container_forget(host=host, container_id=container.engine_id)
        for name in volume_names:
            volume_sync(host=host, name=name)  # forgets the ones the engine removed
