"""Host safety: the one place that decides whether a container body may reach an engine.

Controlling an engine is controlling its host: a bind mount of `/` is root. So every service
that creates or changes a container calls `container_config_check` on the exact body it is about
to send, and volume creation calls `volume_options_check`. The rules:

- a key of the create body or its HostConfig that is not listed here is refused (defaults deny);
- host paths reach a container only through a bind: `-v /path:…`, `mounts` type bind, a local
  volume whose options bind a device (`o=bind`, `device=/path`), or `--volumes-from` a
  container that has binds. All of them are judged by `bind_path_check`: the admin role, a path under
  the bind allow-list (`core.selectors.bind_allowlist`: kept in the database, edited by admins on the
  Settings page, first filled from `DOCKERWEB_BIND_ALLOWLIST`; `bind_root_check` judges a folder
  an admin adds to it), and never `/`, `/etc`, `/proc`, `/sys`, the docker socket, the
  engine's data root, nor a parent of them;
- privileged, host PID/IPC (or another container's), added capabilities, devices, host network
  mode need the admin role;
- risk travels (DESIGN rule 9): `container_doors` lists what a container holds or reaches —
  privileged, a host namespace, host binds, capabilities, devices — also through any chain of
  `container:` namespaces it joins; joining a container's network namespace needs what that
  container needs, and a volume that such a container mounts (`volume_doors`) can only be
  mounted, backed up, restored into, downloaded or browsed by whoever may open all its doors;
- dockerweb's own volumes (a restore's staging volume, or a volume a running restore writes)
  are mounted by nobody.

A refusal raises `PermissionDenied` with the reason; the caller's `change()` logs it."""
from __future__ import annotations

import os
import posixpath

from dockerweb.core.errors import Conflict, NotFound, PermissionDenied
from dockerweb.core.permissions import may
from dockerweb.engine import containers as engine_containers
from dockerweb.engine import inventory as engine
from dockerweb.engine.archives import JOB_LABEL, STAGING_LABEL
from dockerweb.engine.containers import ClearedConfig

CONFIG_KEYS = {"Image", "Cmd", "Env", "Labels", "ExposedPorts", "Volumes", "Tty", "OpenStdin", "HostConfig",
               "NetworkingConfig"}
HOST_CONFIG_KEYS = {"NetworkMode", "PortBindings", "PublishAllPorts", "Binds", "Mounts", "VolumesFrom", "Links",
                    "RestartPolicy", "AutoRemove",
                    # admin-only, judged below
                    "Privileged", "PidMode", "IpcMode", "CapAdd", "Devices"}
ENDPOINT_KEYS = {"IPAMConfig", "Aliases"}
ALWAYS_FORBIDDEN = ("/", "/etc", "/proc", "/sys", "/boot", "/dev", "/var/run/docker.sock", "/run/docker.sock",
                    "/var/run", "/run")
SAFE_IPC = ("", "private", "shareable", "none")


def _refuse(reason: str, action: str | None = None):
    suffix = f" This needs the admin role ({action})." if action else ""
    raise PermissionDenied(f"Refused: {reason}.{suffix}")


def _need(user, host, action: str, reason: str) -> None:
    if not may(user, action, host):
        _refuse(reason, action)


def _is_under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _engine_paths(host, *, ask: bool = True) -> list[str]:
    """Paths of the engine itself: its data root and its socket (`ask=False`: only what the
    mirror knows, without asking the engine)."""
    paths = []
    root = (getattr(host, "info", None) or {}).get("docker_root_dir")
    if not root and ask:
        from dockerweb.engine.events import engine_ping

        root = engine_ping(host).get("docker_root_dir", "")
    if root:
        paths.append(posixpath.normpath(root))
    url = getattr(host, "url", "") or ""
    if url.startswith("unix://"):
        paths.append(posixpath.normpath(url[len("unix://"):]))
    return paths


def _local_engine(host) -> bool:
    return (getattr(host, "url", "") or "").startswith("unix://")


def _clean_path(path: str) -> str:
    clean = posixpath.normpath(path)
    if clean.startswith("//"):
        clean = "/" + clean.lstrip("/")
    return clean


def _forbidden_hit(candidates, forbidden) -> str | None:
    """The first forbidden path that one of `candidates` is, lies under, or contains."""
    for p in candidates:
        for f in forbidden:
            if p == f or (f != "/" and (_is_under(p, f) or _is_under(f, p))):
                return f
    return None


def bind_path_check(*, user, host, path: str, how: str) -> None:
    """May `user` bind host `path` into a container on `host`? `how` says where it came from."""
    from dockerweb.core.selectors import bind_allowlist

    _need(user, host, "container.bind_mount", f"{how} binds the host path {path!r} into the container; "
                                              "bind mounts of host paths are for admins only")
    if not path.startswith("/"):
        _refuse(f"{how}: the host path {path!r} is not absolute")
    clean = _clean_path(path)
    # The engine on this machine sees the same file system: follow symlinks as it would.
    candidates = {clean}
    if _local_engine(host):
        candidates.add(os.path.realpath(clean))
    hit = _forbidden_hit(candidates, [*ALWAYS_FORBIDDEN, *_engine_paths(host)])
    if hit:
        _refuse(f"{how}: {path!r} is or contains {hit!r}, which no container may bind")
    allow = [posixpath.normpath(a) for a in bind_allowlist() if a]
    allow_real = allow + [os.path.realpath(a) for a in allow] if _local_engine(host) else allow
    if not all(any(_is_under(p, a) for a in allow_real) for p in candidates):
        listed = ", ".join(a if os.path.isdir(a) else f"{a} (missing)" for a in allow) or "none"
        _refuse(f"{how}: {path!r} is outside the bind allow-list ({listed}); an admin can add a folder to it "
                "on the Settings page (/settings/)")


def bind_root_check(path: str) -> str:
    """May the folder `path` join the bind allow-list? Returns it normalised, or refuses (400 on
    the field `path`): it must be absolute, exist as a folder on this machine, and be none of
    what no container may bind (`/`, `/etc`, `/proc`, `/sys`, … an engine's socket or data
    root, nor a parent of them), nor hold dockerweb's own data or backups."""
    from django.conf import settings as conf

    from dockerweb.core.errors import BadRequest
    from dockerweb.inventory.models import Host

    def bad(message: str):
        raise BadRequest(message, field="path")

    path = (path or "").strip()
    if not path:
        bad("Give the full path of a folder, e.g. /srv/binds.")
    if "\x00" in path:
        bad("A folder path cannot contain a NUL character.")
    if not path.startswith("/"):
        bad(f"{path!r} is not an absolute path: give it from the root, e.g. /srv/binds.")
    if len(path) > 1024:
        bad("A folder path may have at most 1024 characters.")
    clean = _clean_path(path)
    candidates = {clean, os.path.realpath(clean)}
    forbidden = list(ALWAYS_FORBIDDEN)
    for host in Host.objects.all():
        forbidden += _engine_paths(host, ask=False)
    hit = _forbidden_hit(candidates, forbidden)
    if hit:
        bad(f"{clean!r} is or contains {hit!r}, which no container may bind.")
    for own, what in ((str(conf.DATA_DIR), "dockerweb's data folder (its database and keys)"),
                      (str(conf.BACKUP_DIR), "dockerweb's backup archives")):
        if any(_is_under(own, p) for p in candidates):
            bad(f"{clean!r} holds {what} ({own}); choose a folder that does not contain it.")
    if not os.path.isdir(os.path.realpath(clean)):
        if os.path.exists(clean):
            bad(f"{clean!r} is not a folder; give a folder.")
        bad(f"There is no folder {clean!r} on the machine dockerweb runs on; create it first.")
    return clean


def volume_options_check(*, user, host, driver: str, options: dict | None, how: str) -> None:
    """A volume's driver and options can reach the host as surely as a bind: judge them as one."""
    options = options or {}
    if (driver or "local") != "local":
        _need(user, host, "volume.driver", f"{how} uses volume driver {driver!r}; only the local driver is open "
                                           "to operators")
        return
    device = options.get("device", "")
    kind = options.get("type", "")
    mount_opts = [o.strip() for o in options.get("o", "").split(",") if o.strip()]
    if "bind" in mount_opts or "rbind" in mount_opts or (device and device.startswith("/")):
        bind_path_check(user=user, host=host, path=device or "?", how=f"{how} (volume option device={device!r})")
    elif device and kind != "tmpfs":
        _need(user, host, "volume.driver", f"{how} mounts device {device!r} (type {kind or '?'}); "
                                           "network and block devices are for admins only")


def _named_volume_check(*, user, host, name: str, how: str) -> None:
    """An existing named volume may itself be a bind in disguise (local driver, o=bind), be
    used by a container that holds a door to the host, or be one a restore is writing."""
    try:
        raw = engine.volume_inspect(host, name)
    except NotFound:
        return  # the engine will create a plain local volume
    volume_busy_check(raw=raw, how=f"{how}: volume {name!r}")
    volume_reach_check(user=user, host=host, name=name, how=how, raw=raw)


def volume_busy_check(*, raw: dict, how: str) -> None:
    """No container may mount a restore's staging volume, nor a volume a restore is writing
    into: whoever could would steer what the restore writes (a planted link)."""
    labels = raw.get("Labels") or {}
    if labels.get(STAGING_LABEL):
        raise Conflict(f"{how} is a staging volume of dockerweb's restores; no container may mount it.")
    key = labels.get(JOB_LABEL)
    if key:
        from dockerweb.backups.selectors import job_is_active

        if job_is_active(key):
            raise Conflict(f"{how} is being written by {key}; mount it when that job has ended.")


def container_doors(host, raw: dict, *, _seen: set[str] | None = None) -> list[tuple[str, str]]:
    """`(action, reason)` for every door to the host that container `raw` (its inspect) holds,
    itself or through the namespaces it joins (`container:` chains of network, PID and IPC
    modes, followed to their end)."""
    seen = _seen if _seen is not None else set()
    seen.add(raw.get("Id", ""))
    name = (raw.get("Name") or "").lstrip("/") or (raw.get("Id") or "?")[:12]
    hc = raw.get("HostConfig") or {}
    doors: list[tuple[str, str]] = []
    if hc.get("Privileged"):
        doors.append(("container.privileged", f"container {name!r} is privileged"))
    if hc.get("CapAdd"):
        doors.append(("container.capabilities", f"container {name!r} has added capabilities "
                                                f"({', '.join(hc['CapAdd'])})"))
    if hc.get("Devices"):
        doors.append(("container.devices", f"container {name!r} has host devices"))
    for m in raw.get("Mounts") or []:
        if m.get("Type") == "bind":
            doors.append(("container.bind_mount", f"container {name!r} binds the host path {m.get('Source')!r}"))
    for key, kind in (("NetworkMode", "network"), ("PidMode", "PID"), ("IpcMode", "IPC")):
        mode = hc.get(key) or ""
        if mode == "host":
            doors.append(("container.host_namespace", f"container {name!r} uses the host's {kind} namespace"))
        elif mode.startswith("container:"):
            target = mode.split(":", 1)[1]
            try:
                joined = engine.container_inspect(host, target)
            except NotFound:
                continue
            if joined.get("Id") in seen:
                continue
            for action, reason in container_doors(host, joined, _seen=seen):
                doors.append((action, f"{reason} (and container {name!r} joins its {kind} namespace)"))
    return doors


def _option_doors(driver: str, options: dict | None) -> list[tuple[str, str]]:
    """The doors of a volume's own driver and options (as `volume_options_check` judges them)."""
    options = options or {}
    if (driver or "local") != "local":
        return [("volume.driver", f"it uses the volume driver {driver!r}")]
    device = options.get("device", "")
    mount_opts = [o.strip() for o in options.get("o", "").split(",") if o.strip()]
    if "bind" in mount_opts or "rbind" in mount_opts or device.startswith("/"):
        return [("container.bind_mount", f"its options bind the host path {device!r}")]
    if device and options.get("type", "") != "tmpfs":
        return [("volume.driver", f"it mounts the device {device!r}")]
    return []


def volume_doors(host, name: str, raw: dict | None = None) -> list[tuple[str, str]]:
    """`(action, reason)` for every door of volume `name` (`raw`: its inspect, if at hand): its
    own options, and what the containers (running or not) that mount it hold — whoever reaches
    the volume can change what they read and run."""
    if raw is None:
        try:
            raw = engine.volume_inspect(host, name)
        except NotFound:
            return []
    doors = _option_doors(raw.get("Driver", "local"), raw.get("Options"))
    for c in engine_containers.container_using_volume(host, name):
        try:
            user = engine.container_inspect(host, c["id"])
        except NotFound:
            continue
        for action, reason in container_doors(host, user):
            doors.append((action, f"it is mounted by a container that reaches the host: {reason}"))
    return doors


def volume_reach_check(*, user, host, name: str, how: str, raw: dict | None = None) -> list[tuple[str, str]]:
    """Refuse (403) `user` the volume `name` when it binds a host path by its options or is
    mounted by a container that holds a door to the host and `user` may not open that door.
    Returns the doors found (what a backup of it records). `how` begins the sentence."""
    if raw is None:
        try:
            raw = engine.volume_inspect(host, name)
        except NotFound:
            return []
    volume_options_check(user=user, host=host, driver=raw.get("Driver", "local"), options=raw.get("Options"),
                         how=f"{how}: volume {name!r}")
    doors = volume_doors(host, name, raw)
    for action, reason in doors:
        _need(user, host, action, f"{how}: volume {name!r} reaches the host, as {reason}")
    return doors


def doors_check(*, user, host, doors: list, how: str) -> None:
    """Refuse (403) `user` anything recorded with `doors` (e.g. a backup of a volume that had
    them) that they may not open."""
    for action, reason in doors or []:
        _need(user, host, action, f"{how}: {reason}")


def _inherited_mounts_check(*, user, host, source: str) -> None:
    """`--volumes-from` copies every mount of the source, binds included."""
    try:
        raw = engine.container_inspect(host, source)
    except NotFound:
        return  # validation reports the missing container; nothing to inherit
    for m in raw.get("Mounts") or []:
        how = f"--volumes-from {source!r} (its mount {m.get('Destination')!r})"
        if m.get("Type") == "bind":
            bind_path_check(user=user, host=host, path=m.get("Source", ""), how=how)
        elif m.get("Type") == "volume" and m.get("Name"):
            _named_volume_check(user=user, host=host, name=m["Name"], how=how)
        elif m.get("Type") not in ("volume", "tmpfs"):
            _refuse(f"{how} has a {m.get('Type')!r} mount")


def _namespace_check(*, user, host, mode: str, kind: str) -> None:
    if mode == "host":
        _need(user, host, "container.host_namespace", f"{kind} mode 'host' shares the host's {kind} namespace")
    elif mode.startswith("container:"):
        if kind != "network":
            _need(user, host, "container.host_namespace", f"{kind} mode {mode!r} shares another container's "
                                                          f"{kind} namespace")
            return
        target = mode.split(":", 1)[1]
        try:
            raw = engine.container_inspect(host, target)
        except NotFound:
            return  # validation says so
        # Whatever the joined container reaches, through any chain, the newcomer reaches too.
        for action, reason in container_doors(host, raw):
            _need(user, host, action, f"network mode {mode!r} joins a namespace that reaches the host: {reason}")


def container_created_check(*, user, host, raw: dict) -> None:
    """Judge the volumes of a container the engine just created (`raw`, its inspect) once more:
    a volume named in the request may have been made, or taken by a restore, between the check
    of the request and the create. The caller removes the container on refusal."""
    for m in raw.get("Mounts") or []:
        if m.get("Type") == "volume" and m.get("Name"):
            _named_volume_check(user=user, host=host, name=m["Name"], how=f"the mount of {m.get('Destination')!r}")


def container_config_check(*, user, host, config: dict) -> ClearedConfig:
    """Refuse (403) a create body that `user` may not send to `host`; else return it as the
    `ClearedConfig` that `engine.containers.container_create` requires."""
    unknown = sorted(set(config) - CONFIG_KEYS)
    if unknown:
        _refuse(f"the container setting {unknown[0]!r} is not one dockerweb lets through")
    hc = config.get("HostConfig") or {}
    unknown = sorted(k for k in set(hc) - HOST_CONFIG_KEYS)
    if unknown:
        _refuse(f"the host setting {unknown[0]!r} is not one dockerweb lets through")
    for ep in ((config.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}).values():
        extra = sorted(set(ep or {}) - ENDPOINT_KEYS)
        if extra:
            _refuse(f"the endpoint setting {extra[0]!r} is not one dockerweb lets through")

    if hc.get("Privileged"):
        _need(user, host, "container.privileged", "a privileged container has every device and capability of "
                                                   "the host")
    if hc.get("CapAdd"):
        _need(user, host, "container.capabilities", f"adding capabilities ({', '.join(hc['CapAdd'])})")
    if hc.get("Devices"):
        _need(user, host, "container.devices", "host devices ("
              + ", ".join(d.get("PathOnHost", "?") for d in hc["Devices"]) + ")")
    _namespace_check(user=user, host=host, mode=hc.get("NetworkMode") or "", kind="network")
    _namespace_check(user=user, host=host, mode=hc.get("PidMode") or "", kind="PID")
    ipc = hc.get("IpcMode") or ""
    if ipc not in SAFE_IPC:
        _namespace_check(user=user, host=host, mode=ipc, kind="IPC")

    for bind in hc.get("Binds") or []:
        parts = bind.split(":")
        source = parts[0] if len(parts) > 1 else ""
        if source.startswith("/") or (source and not source[0].isalnum()):
            bind_path_check(user=user, host=host, path=source, how=f"-v {bind!r}")
        elif source:
            _named_volume_check(user=user, host=host, name=source, how=f"-v {bind!r}")
    for m in hc.get("Mounts") or []:
        how = f"mount of {m.get('Target')!r}"
        kind = m.get("Type")
        if kind == "bind":
            bind_path_check(user=user, host=host, path=m.get("Source", ""), how=f"{how} (type bind)")
        elif kind == "volume":
            driver_config = (m.get("VolumeOptions") or {}).get("DriverConfig") or {}
            if driver_config:
                volume_options_check(user=user, host=host, driver=driver_config.get("Name", "local"),
                                     options=driver_config.get("Options"), how=how)
            if m.get("Source"):
                _named_volume_check(user=user, host=host, name=m["Source"], how=how)
            extra = sorted(set(m.get("VolumeOptions") or {}) - {"DriverConfig"})
            if extra:
                _refuse(f"{how}: the volume option {extra[0]!r} is not one dockerweb lets through")
        elif kind != "tmpfs":
            _refuse(f"{how}: mount type {kind!r} is not one dockerweb lets through")
    for spec in hc.get("VolumesFrom") or []:
        _inherited_mounts_check(user=user, host=host, source=spec.split(":", 1)[0])
    return ClearedConfig(config)
