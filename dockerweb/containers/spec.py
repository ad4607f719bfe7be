"""`docker run` input (the API's JSON, or the form's fields turned into it) → the engine's own
create body. Pure functions: no engine, no database. Every mistake becomes a `BadRequest`
naming the field, and a field this module does not know is refused (defaults deny).

What comes out (`RunPlan.config`) is exactly what the engine will receive; the host-safety
check (`safety.py`) reads that body, not this input."""
from __future__ import annotations

import ipaddress
import posixpath
import re
import shlex
from dataclasses import dataclass, field

from dockerweb.core.errors import BadRequest
from dockerweb.networks.validation import name_problem as network_name_problem

FIELDS = (
    "name", "image", "command", "network", "ipv4_address", "ipv6_address", "aliases", "ports", "publish_all",
    "expose", "volumes", "mounts", "volumes_from", "links", "environment", "labels", "restart_policy",
    "auto_remove", "tty", "privileged", "pid_mode", "ipc_mode", "cap_add", "devices",
)
MOUNT_FIELDS = ("type", "source", "target", "read_only", "size", "volume_driver", "volume_options")
PROTOCOLS = ("tcp", "udp", "sctp")
VOLUME_OPTIONS = {"ro", "rw", "z", "Z", "nocopy", "shared", "slave", "private", "rshared", "rslave", "rprivate",
                  "consistent", "cached", "delegated"}
RESTART_NAMES = ("no", "always", "unless-stopped", "on-failure")
IPC_MODES = ("", "private", "shareable", "none", "host")
CONTAINER_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")
VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")
SIZE = re.compile(r"^(\d+)([bkmg]?)b?$", re.I)


@dataclass
class RunPlan:
    """A validated run request: the engine body plus the names it refers to (checked by the service)."""

    name: str
    image: str
    config: dict
    network: str                      # bridge | host | none | container:<name> | a network name
    netns_container: str = ""         # for container:<name>
    links: list[str] = field(default_factory=list)           # target container names
    volumes_from: list[str] = field(default_factory=list)    # source container names
    published: list[tuple[str, int, str]] = field(default_factory=list)  # (host_ip, host_port, proto)


def _list(data: dict, key: str) -> list:
    value = data.get(key)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.splitlines() if v.strip()]
    if not isinstance(value, (list, tuple)):
        raise BadRequest(f"{key} must be a list.", field=key)
    return list(value)


def _strings(data: dict, key: str) -> list[str]:
    out = []
    for v in _list(data, key):
        if not isinstance(v, str):
            raise BadRequest(f"Each entry of {key} must be a string, not {v!r}.", field=key)
        if v.strip():
            out.append(v.strip())
    return out


def _text(data: dict, key: str, field: str | None = None) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string.", field=field or key)
    return value.strip()


def _bool(data: dict, key: str) -> bool:
    v = data.get(key, False)
    if isinstance(v, bool):
        return v
    if v in (None, "", 0, "0", "false", "False", "off"):
        return False
    if v in (1, "1", "true", "True", "on"):
        return True
    raise BadRequest(f"{key} must be true or false.", field=key)


def _absolute(path: str, key: str) -> str:
    if not path.startswith("/"):
        raise BadRequest(f"The mount target {path!r} must be an absolute path (start with '/').", field=key)
    return posixpath.normpath(path)


def _port(text: str, spec: str) -> list[int]:
    """'80' → [80]; '8000-8002' → [8000, 8001, 8002]."""
    lo, sep, hi = text.partition("-")
    try:
        a, b = int(lo), int(hi) if sep else int(lo)
    except ValueError:
        raise BadRequest(f"{spec!r} is not a valid -p value: {text!r} is not a port number.", field="ports") from None
    if not (1 <= a <= 65535 and 1 <= b <= 65535 and a <= b):
        raise BadRequest(f"{spec!r} is not a valid -p value: ports are 1-65535.", field="ports")
    return list(range(a, b + 1))


def port_parse(spec: str) -> list[tuple[int, str, str, str]]:
    """A docker -p string → [(container_port, protocol, host_ip, host_port or '')].

    Forms: '80', '8000:80', '127.0.0.1:8000:80', '127.0.0.1::80', '[::1]:8000:80', any of them
    with '/udp' (or '/tcp', '/sctp'), and equal-length ranges ('8000-8001:80-81')."""
    s = spec.strip()
    rest, slash, proto = s.rpartition("/") if "/" in s else (s, "", "tcp")
    proto = proto.lower()
    if proto not in PROTOCOLS:
        raise BadRequest(f"{spec!r} is not a valid -p value: the protocol must be tcp, udp or sctp.", field="ports")
    ip = ""
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0 or rest[end + 1:end + 2] != ":":
            raise BadRequest(f"{spec!r} is not a valid -p value: write IPv6 addresses as [addr]:port:port.", field="ports")
        ip, rest = rest[1:end], rest[end + 2:]
        parts = rest.split(":")
        if len(parts) != 2:
            raise BadRequest(f"{spec!r} is not a valid -p value.", field="ports")
        parts = [ip] + parts
    else:
        parts = rest.split(":")
    if len(parts) == 1:
        host_port, container = "", parts[0]
    elif len(parts) == 2:
        host_port, container = parts
        if not host_port:
            raise BadRequest(f"{spec!r} is not a valid -p value: the host port is missing (write {container} or "
                             f"127.0.0.1::{container} for a free one).", field="ports")
    elif len(parts) == 3:
        ip, host_port, container = parts
    else:
        raise BadRequest(f"{spec!r} is not a valid -p value: use [ip:][host_port:]container_port[/protocol].",
                         field="ports")
    if ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise BadRequest(f"{spec!r} is not a valid -p value: {ip!r} is not an IP address.", field="ports") from None
    if not container:
        raise BadRequest(f"{spec!r} is not a valid -p value: the container port is missing.", field="ports")
    cports = _port(container, spec)
    hports = _port(host_port, spec) if host_port else []
    if hports and len(hports) != len(cports):
        raise BadRequest(f"{spec!r} is not a valid -p value: host and container ranges differ in length.", field="ports")
    return [(cp, proto, ip, str(hports[i]) if hports else "") for i, cp in enumerate(cports)]


def size_parse(value, key: str = "mounts") -> int:
    """'64m', '1g', '4096' or an int → bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    m = SIZE.match(str(value).strip())
    if not m or int(m.group(1)) <= 0:
        raise BadRequest(f"{value!r} is not a size; write bytes or a number with k, m or g (e.g. 64m).", field=key)
    return int(m.group(1)) * {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[m.group(2).lower()]


def volume_string_parse(spec: str) -> dict:
    """A docker -v string → {kind: anonymous|volume|bind, source, target, options: [..]}."""
    parts = spec.split(":")
    if len(parts) == 1:
        return {"kind": "anonymous", "source": "", "target": _absolute(parts[0], "volumes"), "options": []}
    if len(parts) > 3:
        raise BadRequest(f"{spec!r} is not a valid -v value: use source:target[:options].", field="volumes")
    source, target = parts[0], parts[1]
    options = [o for o in (parts[2].split(",") if len(parts) == 3 else []) if o]
    bad = [o for o in options if o not in VOLUME_OPTIONS]
    if bad:
        raise BadRequest(f"{spec!r}: unknown -v option {bad[0]!r} (known: ro, rw, z, Z, nocopy, propagation).",
                         field="volumes")
    if source.startswith("/"):
        kind = "bind"
    elif VOLUME_NAME.match(source):
        kind = "volume"
        if len(source) < 2:  # the engine: "volume name is too short"
            raise BadRequest(f"{spec!r}: a volume's name takes at least two characters.", field="volumes")
    else:
        raise BadRequest(f"{spec!r}: {source!r} is neither a volume name nor an absolute host path.", field="volumes")
    return {"kind": kind, "source": source, "target": _absolute(target, "volumes"), "options": options}


def mount_cli_parse(spec: str) -> dict:
    """A docker --mount string ('type=tmpfs,target=/x,tmpfs-size=64m') → a `mounts` entry."""
    out: dict = {}
    opts: dict = {}
    for item in [i.strip() for i in spec.split(",") if i.strip()]:
        key, eq, value = item.partition("=")
        key = key.lower()
        if key in ("readonly", "ro"):
            out["read_only"] = value.lower() not in ("false", "0") if eq else True
        elif key == "type":
            out["type"] = value
        elif key in ("source", "src"):
            out["source"] = value
        elif key in ("target", "destination", "dst"):
            out["target"] = value
        elif key == "tmpfs-size":
            out["size"] = value
        elif key == "volume-driver":
            out["volume_driver"] = value
        elif key == "volume-opt":
            k, _, v = value.partition("=")
            opts[k] = v
        else:
            raise BadRequest(f"{spec!r}: unknown --mount key {key!r}.", field="mounts")
    if opts:
        out["volume_options"] = opts
    out.setdefault("type", "volume")
    return out


def _mount(entry, index: int) -> dict:
    """A `mounts` entry → the engine's Mount shape."""
    if isinstance(entry, str):
        entry = mount_cli_parse(entry)
    if not isinstance(entry, dict):
        raise BadRequest(f"mounts[{index}] must be an object {{type, source, target, read_only}}.", field="mounts")
    unknown = sorted(set(entry) - set(MOUNT_FIELDS))
    if unknown:
        raise BadRequest(f"mounts[{index}]: unknown key {unknown[0]!r} (known: {', '.join(MOUNT_FIELDS)}).",
                         field="mounts")
    kind = _text(entry, "type", "mounts") or "volume"
    source = _text(entry, "source", "mounts")
    target = _text(entry, "target", "mounts")
    if not target:
        raise BadRequest(f"mounts[{index}] needs a target (the absolute path in the container).", field="mounts")
    target = _absolute(target, "mounts")
    read_only = _bool(entry, "read_only")
    if kind == "volume":
        if source and not VOLUME_NAME.match(source):
            raise BadRequest(f"mounts[{index}]: {source!r} is not a volume name.", field="mounts")
        if source and len(source) < 2:  # the engine: "volume name is too short"
            raise BadRequest(f"mounts[{index}]: a volume's name takes at least two characters.", field="mounts")
        m = {"Type": "volume", "Source": source, "Target": target, "ReadOnly": read_only}
        if entry.get("volume_driver") or entry.get("volume_options"):
            opts = entry.get("volume_options") or {}
            if not isinstance(opts, dict):
                raise BadRequest(f"mounts[{index}].volume_options must be an object.", field="mounts")
            m["VolumeOptions"] = {"DriverConfig": {"Name": entry.get("volume_driver") or "local",
                                                   "Options": {str(k): str(v) for k, v in opts.items()}}}
        return m
    if entry.get("volume_driver") or entry.get("volume_options"):
        raise BadRequest(f"mounts[{index}]: volume_driver and volume_options belong to type volume.", field="mounts")
    if kind == "bind":
        if not source.startswith("/"):
            raise BadRequest(f"mounts[{index}]: a bind mount needs an absolute host path as source.", field="mounts")
        return {"Type": "bind", "Source": source, "Target": target, "ReadOnly": read_only}
    if kind == "tmpfs":
        if source:
            raise BadRequest(f"mounts[{index}]: a tmpfs mount has no source.", field="mounts")
        m = {"Type": "tmpfs", "Target": target, "ReadOnly": read_only}
        if entry.get("size") not in (None, ""):
            m["TmpfsOptions"] = {"SizeBytes": size_parse(entry["size"])}
        return m
    raise BadRequest(f"mounts[{index}]: type must be volume, bind or tmpfs, not {kind!r}.", field="mounts")


def _pairs(data: dict, key: str) -> dict[str, str]:
    """A dict, or a list of 'k=v' strings (one per line in forms) → {k: v}."""
    value = data.get(key)
    if value in (None, "", [], {}):
        return {}
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    out = {}
    for item in _strings(data, key):
        k, _, v = item.partition("=")
        if not k.strip():
            raise BadRequest(f"{item!r} in {key} is not KEY=value.", field=key)
        out[k.strip()] = v
    return out


def restart_policy_parse(value) -> dict:
    if value in (None, "", {}):
        return {"Name": "no"}
    if isinstance(value, dict):
        name, retries = value.get("name", "no"), value.get("maximum_retry_count", 0)
    else:
        name, _, retries = str(value).partition(":")
    if name not in RESTART_NAMES:
        raise BadRequest(f"The restart policy must be one of {', '.join(RESTART_NAMES)}[:N].", field="restart_policy")
    try:
        retries = int(retries or 0)
    except (TypeError, ValueError):
        retries = -1
    if retries < 0:
        raise BadRequest("The retry count of on-failure must be a whole number, 0 or more.",
                         field="restart_policy") from None
    if retries and name != "on-failure":
        raise BadRequest("Only on-failure takes a retry count.", field="restart_policy")
    return {"Name": name, "MaximumRetryCount": retries}


def _device(spec: str) -> dict:
    parts = spec.split(":")
    if not parts[0].startswith("/") or len(parts) > 3:
        raise BadRequest(f"{spec!r} is not a device: use /dev/host[:/dev/container[:rwm]].", field="devices")
    return {"PathOnHost": parts[0], "PathInContainer": parts[1] if len(parts) > 1 and parts[1] else parts[0],
            "CgroupPermissions": parts[2] if len(parts) > 2 else "rwm"}


def _name(value: str, key: str) -> str:
    value = value.strip()
    if not CONTAINER_NAME.match(value):
        raise BadRequest(f"{value!r} is not a container name.", field=key)
    return value.lstrip("/")


class _Collect:
    """Gathers the `BadRequest`s of a run request, one per field at most, so that a person sees
    every mistake at once (`with errs.check():` around each independent step)."""

    def __init__(self):
        self.found: list[BadRequest] = []

    def check(self):
        return _Check(self)

    def raise_any(self) -> None:
        if not self.found:
            return
        order = {f: i for i, f in enumerate(FIELDS)}
        self.found.sort(key=lambda e: order.get(e.field, len(order)))  # stable: in the form's order
        first = self.found[0]
        errors: dict[str, list[str]] = {}
        for e in self.found:
            errors.setdefault(e.field or "non_field_errors", []).append(e.message)
        if len(self.found) > 1:
            raise BadRequest(first.message, field=first.field, errors=errors,
                             detail={"count": len(self.found)})
        raise first


class _Check:
    def __init__(self, collect: _Collect):
        self.collect = collect

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if isinstance(exc, BadRequest):
            fields = {e.field for e in self.collect.found}
            if exc.field not in fields or exc.field is None:
                self.collect.found.append(exc)
            return True
        return False


def run_plan(data: dict) -> RunPlan:
    """Validate a run request and build the engine's create body. Every field is judged, and
    all mistakes are reported together (`BadRequest.errors`), the first one as the message."""
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise BadRequest(f"Unknown field {unknown[0]!r}: dockerweb passes only the fields it knows to the engine "
                         f"({', '.join(FIELDS)}).", field=unknown[0])
    errs = _Collect()
    name = ""
    with errs.check():
        name = _text(data, "name")
        if name:
            name = _name(name, "name")
            if len(name) < 2:  # the engine's rule for a new container's name (measured: "Invalid container name")
                raise BadRequest(f"{name!r} is too short: a container's name takes at least two characters.",
                                 field="name")
    image = ""
    with errs.check():
        image = _text(data, "image")
        if not image:
            raise BadRequest("Choose an image (one of the host's local images).", field="image")

    command = None
    with errs.check():
        command = data.get("command")
        if isinstance(command, str):
            try:
                command = shlex.split(command)
            except ValueError as exc:
                raise BadRequest(f"The command cannot be split into words: {exc}.", field="command") from None
        elif command is not None and not (isinstance(command, list) and all(isinstance(c, str) for c in command)):
            raise BadRequest("The command must be a string or a list of strings.", field="command")

    network = "bridge"
    netns_container = ""
    with errs.check():
        network = _text(data, "network") or "bridge"
        if network.startswith("container:"):
            netns_container = _name(network.split(":", 1)[1], "network")
        elif network_name_problem(network):  # any name the engine takes for a network (see networks.validation)
            raise BadRequest(f"{network!r} is not a network mode or network name: {network_name_problem(network)}",
                             field="network")
    special = network in ("host", "none") or bool(netns_container)

    ipv4 = ipv6 = ""
    for key, version in (("ipv4_address", 4), ("ipv6_address", 6)):
        with errs.check():
            value = _text(data, key)
            if value:
                try:
                    if ipaddress.ip_address(value).version != version:
                        raise ValueError
                except ValueError:
                    raise BadRequest(f"{value!r} is not an IPv{version} address.", field=key) from None
            if version == 4:
                ipv4 = value
            else:
                ipv6 = value
    aliases: list[str] = []
    with errs.check():
        aliases = _strings(data, "aliases")
        if len(aliases) == 1 and "," in aliases[0]:
            aliases = [a.strip() for a in aliases[0].split(",") if a.strip()]

    host_config: dict = {"NetworkMode": network}
    config: dict = {"Image": image, "HostConfig": host_config}
    if command:
        config["Cmd"] = command

    # Ports (-p, -P, --expose)
    bindings: dict[str, list] = {}
    exposed: dict[str, dict] = {}
    published = []
    with errs.check():
        for spec in _strings(data, "ports"):
            for cp, proto, ip, hp in port_parse(spec):
                key = f"{cp}/{proto}"
                bindings.setdefault(key, []).append({"HostIp": ip, "HostPort": hp})
                exposed[key] = {}
                if hp:
                    published.append((ip, int(hp), proto))
    with errs.check():
        for spec in _strings(data, "expose"):
            port, _, proto = spec.partition("/")
            for p in _port(port, spec):
                exposed[f"{p}/{(proto or 'tcp').lower()}"] = {}
    publish_all = False
    with errs.check():
        publish_all = _bool(data, "publish_all")
    with errs.check():
        if special and (bindings or publish_all):
            raise BadRequest(f"Ports cannot be published in network mode {network!r}: the container has no "
                             "interface of its own to forward to.", field="ports")
    if bindings:
        host_config["PortBindings"] = bindings
    if publish_all:
        host_config["PublishAllPorts"] = True
    if exposed:
        config["ExposedPorts"] = exposed

    # Volumes (-v) and mounts (--mount, --tmpfs)
    binds, anonymous, targets = [], {}, []
    with errs.check():
        for spec in _strings(data, "volumes"):
            v = volume_string_parse(spec)
            targets.append(v["target"])
            if v["kind"] == "anonymous":
                anonymous[v["target"]] = {}
            else:
                binds.append(":".join([v["source"], v["target"]] + ([",".join(v["options"])] if v["options"] else [])))
    mounts: list[dict] = []
    with errs.check():
        mounts = [_mount(m, i) for i, m in enumerate(_list(data, "mounts"))]
        targets += [m["Target"] for m in mounts]
        dup = sorted({t for t in targets if targets.count(t) > 1})
        if dup:
            raise BadRequest(f"Two mounts have the same target {dup[0]!r}.", field="mounts")
    if binds:
        host_config["Binds"] = binds
    if mounts:
        host_config["Mounts"] = mounts
    if anonymous:
        config["Volumes"] = anonymous

    volumes_from, vf_names = [], []
    with errs.check():
        for spec in _strings(data, "volumes_from"):
            src, _, mode = spec.partition(":")
            if mode not in ("", "ro", "rw"):
                raise BadRequest(f"{spec!r}: --volumes-from takes name[:ro|rw].", field="volumes_from")
            vf_names.append(_name(src, "volumes_from"))
            volumes_from.append(spec.lstrip("/"))
    if volumes_from:
        host_config["VolumesFrom"] = volumes_from

    links, link_targets = [], []
    with errs.check():
        for spec in _strings(data, "links"):
            target, _, alias = spec.partition(":")
            target = _name(target, "links")
            alias = alias.strip() or target
            if not CONTAINER_NAME.match(alias):
                raise BadRequest(f"{alias!r} is not a valid link alias.", field="links")
            links.append(f"{target}:{alias}")
            link_targets.append(target)
        if links:
            if special:
                raise BadRequest(f"Links cannot be used in network mode {network!r}.", field="links")
            host_config["Links"] = links

    if ipv4 or ipv6 or aliases:
        with errs.check():
            if special or network == "bridge":
                field_ = "ipv4_address" if ipv4 else "ipv6_address" if ipv6 else "aliases"
                raise BadRequest(f"Fixed addresses and aliases need a user-defined network; {network!r} cannot take "
                                 "them (create a network with a subnet and choose it).", field=field_)
            ipam = {k: v for k, v in (("IPv4Address", ipv4), ("IPv6Address", ipv6)) if v}
            ep: dict = {}
            if ipam:
                ep["IPAMConfig"] = ipam
            if aliases:
                ep["Aliases"] = aliases
            config["NetworkingConfig"] = {"EndpointsConfig": {network: ep}}

    with errs.check():
        env = _pairs(data, "environment")
        if env:
            config["Env"] = [f"{k}={v}" for k, v in env.items()]
    with errs.check():
        labels = _pairs(data, "labels")
        if labels:
            config["Labels"] = labels
    with errs.check():
        policy = restart_policy_parse(data.get("restart_policy"))
        auto_remove = _bool(data, "auto_remove")
        if auto_remove and policy["Name"] != "no":
            raise BadRequest("Auto-remove (--rm) and a restart policy exclude each other.", field="restart_policy")
        if policy["Name"] != "no":
            host_config["RestartPolicy"] = policy
        if auto_remove:
            host_config["AutoRemove"] = True
    with errs.check():
        if _bool(data, "tty"):
            config["Tty"] = config["OpenStdin"] = True

    # Fields that need the admin role: built here, judged by safety.py.
    with errs.check():
        if _bool(data, "privileged"):
            host_config["Privileged"] = True
    with errs.check():
        pid_mode = _text(data, "pid_mode")
        if pid_mode:
            if pid_mode != "host" and not pid_mode.startswith("container:"):
                raise BadRequest("pid_mode must be host or container:<name>.", field="pid_mode")
            host_config["PidMode"] = pid_mode
    with errs.check():
        ipc_mode = _text(data, "ipc_mode")
        if ipc_mode:
            if ipc_mode not in IPC_MODES and not ipc_mode.startswith("container:"):
                raise BadRequest(f"ipc_mode must be one of {', '.join(m for m in IPC_MODES if m)} or container:<name>.",
                                 field="ipc_mode")
            host_config["IpcMode"] = ipc_mode
    with errs.check():
        caps = [c.upper() for c in _strings(data, "cap_add")]
        if caps:
            host_config["CapAdd"] = caps
    with errs.check():
        devices = [_device(d) for d in _strings(data, "devices")]
        if devices:
            host_config["Devices"] = devices
    errs.raise_any()

    return RunPlan(name=name, image=image, config=config, network=network, netns_container=netns_container,
                   links=link_targets, volumes_from=vf_names, published=published)
