"""Writes of volumes: create, remove, prune. Engine first, then the mirror from its answer."""
from __future__ import annotations

import re

from dockerweb.containers import safety
from dockerweb.core.errors import AppError, BadRequest, Conflict, NotFound
from dockerweb.core.services import change, permission_check
from dockerweb.engine import containers as engine_containers
from dockerweb.engine import inventory as engine_inventory
from dockerweb.engine import volumes as engine
from dockerweb.inventory.models import Host, Volume
from dockerweb.inventory.services import volume_forget, volume_sync

VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z")


def _str_dict(value, field: str) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{field} must be an object of strings.", field=field)
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def volume_create(*, actor, host: Host, name: str = "", driver: str = "local", driver_opts: dict | None = None,
                  labels: dict | None = None) -> Volume:
    """`docker volume create`. An existing name is a 409 (the engine itself would silently reuse it)."""
    driver = driver or "local"
    with change(user=actor, action="volume.create", host=host, target=name or "(anonymous)",
                detail={"driver": driver}) as ch:
        if name and not VOLUME_NAME.match(name):
            raise BadRequest(f"{name!r} is not a volume name: use letters, digits, '_', '.', '-' (two or more).",
                             field="name")
        driver_opts = _str_dict(driver_opts, "driver_opts")
        labels = _str_dict(labels, "labels")
        drivers = engine.volume_drivers(host)
        if driver not in drivers and f"{driver}:latest" not in drivers:  # plugins are listed with their tag
            raise BadRequest(f"Host {host.name!r} has no volume driver {driver!r} (it has: {', '.join(drivers)}).",
                             field="driver")
        if name:
            exists = Volume.objects.filter(host=host, name=name).exists()
            if not exists:
                try:
                    engine_inventory.volume_inspect(host, name)
                    exists = True
                except NotFound:
                    pass
            if exists:
                raise Conflict(f"A volume named {name!r} already exists on {host.name}.", field="name")
        # Options of the local driver can bind any host path: the same gate as a bind mount.
        safety.volume_options_check(user=actor, host=host, driver=driver, options=driver_opts,
                                    how="this volume")
        raw = engine.volume_create(host, name=name, driver=driver, driver_opts=driver_opts, labels=labels)
        ch.target = raw["Name"]
        return volume_sync(host=host, name=raw["Name"])


def volume_users(*, host: Host, name: str) -> list[dict]:
    """Containers (running or not) using volume `name`, asked of the engine (the truth)."""
    return engine_containers.container_using_volume(host, name)


def volume_remove(*, actor, host: Host, name: str, force: bool = False) -> None:
    """`docker volume rm [-f]`. In use → 409 naming the containers. `force` is for admins."""
    if force:
        permission_check(user=actor, action="volume.force_remove", host=host, target=name)
    with change(user=actor, action="volume.remove", host=host, target=name, detail={"force": force}):
        try:
            engine_inventory.volume_inspect(host, name)
        except NotFound:
            volume_forget(host=host, name=name)
            raise NotFound(f"Host {host.name!r} has no volume {name!r}.") from None
        users = volume_users(host=host, name=name)
        if users:
            names = ", ".join(f"{u['name']} ({u['state']})" for u in users)
            raise Conflict(f"Volume {name!r} is in use by {names}; remove those containers first.",
                           detail={"used_by": [u["name"] for u in users]})
        engine.volume_remove(host, name, force=force)
        volume_forget(host=host, name=name)


def volume_remove_many(*, actor, host: Host, names: list[str], force: bool = False) -> dict:
    """`docker volume rm A B …`: each volume on its own (checked and logged on its own); a refusal
    is that volume's outcome. Returns `{removed: [names], errors: {name: sentence}}`."""
    removed, errors = [], {}
    for name in dict.fromkeys(names):
        if not name.strip():
            errors[name] = "A volume name is needed here (this one is blank)."
            continue
        try:
            volume_remove(actor=actor, host=host, name=name, force=force)
            removed.append(name)
        except AppError as exc:
            errors[name] = exc.message
    return {"removed": removed, "errors": errors}


def volume_prune(*, actor, host: Host, dry_run: bool = False) -> dict:
    """`docker volume prune`: every volume no container uses. `dry_run` only lists them (a read).

    Returns `{removed: [names], space_reclaimed: bytes or None}`; a volume taken into use
    between the listing and its removal is kept and reported in `kept`."""
    candidates = sorted(v["Name"] for v in engine.volume_dangling(host))
    if dry_run:
        return {"removed": candidates, "dry_run": True}
    removed, kept = [], []
    with change(user=actor, action="volume.prune", host=host, target="(unused volumes)") as ch:
        for name in candidates:
            try:
                engine.volume_remove(host, name)
            except (Conflict, NotFound):
                kept.append(name)
                continue
            volume_forget(host=host, name=name)
            removed.append(name)
        ch.detail.update({"removed": removed, "kept": kept})
    return {"removed": removed, "kept": kept, "dry_run": False}
