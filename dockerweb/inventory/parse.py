"""Engine dicts (inspect shapes, CamelCase) → mirror field dicts (snake_case). Pure functions."""
from __future__ import annotations

import hashlib
import json
import shlex
import re
from datetime import datetime, timezone

_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")


# Part of every fingerprint: changing how rows are derived from `raw` must change them all.
PARSER_VERSION = "2"


def fingerprint(raw: dict) -> str:
    """Digest of an engine object's attributes. Every mirror field, and a container's endpoints,
    mounts and ports, derive from them alone, so an equal digest means nothing to write."""
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1((PARSER_VERSION + text).encode()).hexdigest()


def network_raw(raw: dict) -> dict:
    """The network's attributes as mirrored: without `Containers`, which the engine's list call
    leaves empty and inspect fills; endpoints are the one place attachments live."""
    return {k: v for k, v in raw.items() if k != "Containers"} if "Containers" in raw else raw


def parse_time(value: str | None) -> datetime | None:
    """Engine timestamps: RFC 3339 with nanoseconds; '0001-01-01T00:00:00Z' means never."""
    if not value or value.startswith("0001-"):
        return None
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$", value)
    if not m:
        return None
    base, frac, tz = m.groups()
    micro = int((frac or ".0")[1:7].ljust(6, "0"))
    dt = datetime.fromisoformat(base).replace(microsecond=micro)
    if tz in (None, "Z"):
        return dt.replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(base + tz).replace(microsecond=micro).astimezone(timezone.utc)


def ipam_config_from_engine(configs: list | None) -> list[dict]:
    out = []
    for c in configs or []:
        out.append({
            "subnet": c.get("Subnet", "") or "",
            "gateway": c.get("Gateway", "") or "",
            "ip_range": c.get("IPRange", "") or "",
            "aux_addresses": c.get("AuxiliaryAddresses") or {},
        })
    return out


def network_fields(raw: dict, fp: str | None = None) -> dict:
    raw = network_raw(raw)
    ipam = raw.get("IPAM") or {}
    return {
        "engine_id": raw["Id"],
        "name": raw.get("Name", ""),
        "driver": raw.get("Driver", ""),
        "scope": raw.get("Scope", ""),
        "internal": bool(raw.get("Internal")),
        "attachable": bool(raw.get("Attachable")),
        "ingress": bool(raw.get("Ingress")),
        "enable_ipv6": bool(raw.get("EnableIPv6")),
        "created": parse_time(raw.get("Created")),
        "options": raw.get("Options") or {},
        "labels": raw.get("Labels") or {},
        "ipam_driver": ipam.get("Driver") or "default",
        "ipam_options": ipam.get("Options") or {},
        "ipam_config": ipam_config_from_engine(ipam.get("Config")),
        "raw": raw,
        "fingerprint": fp or fingerprint(raw),
    }


def _command(raw: dict) -> str:
    cfg = raw.get("Config") or {}
    parts = list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or [])
    # As a shell would need it typed: `sh -c 'echo hello > /f'`, not `sh -c echo hello > /f`.
    if not parts:
        parts = ([raw["Path"]] if raw.get("Path") else []) + list(raw.get("Args") or [])
    return shlex.join(parts)


def container_fields(raw: dict, fp: str | None = None) -> dict:
    cfg = raw.get("Config") or {}
    hc = raw.get("HostConfig") or {}
    state = raw.get("State") or {}
    return {
        "engine_id": raw["Id"],
        "name": (raw.get("Name") or "").lstrip("/"),
        "image": cfg.get("Image", ""),
        "image_id": raw.get("Image", ""),
        "command": _command(raw),
        "state": state.get("Status", ""),
        "status": container_status_text(state),
        "created": parse_time(raw.get("Created")),
        "started_at": parse_time(state.get("StartedAt")),
        "network_mode": hc.get("NetworkMode", "") or "",
        "labels": cfg.get("Labels") or {},
        "links": [link_short(l) for l in hc.get("Links") or []],
        "restart_policy": hc.get("RestartPolicy") or {},
        "privileged": bool(hc.get("Privileged")),
        "pid_mode": hc.get("PidMode", "") or "",
        "ipc_mode": hc.get("IpcMode", "") or "",
        "uts_mode": hc.get("UTSMode", "") or "",
        "userns_mode": hc.get("UsernsMode", "") or "",
        "cap_add": hc.get("CapAdd") or [],
        "devices": hc.get("Devices") or [],
        "auto_remove": bool(hc.get("AutoRemove")),
        "publish_all": bool(hc.get("PublishAllPorts")),
        "raw": raw,
        "fingerprint": fp or fingerprint(raw),
    }


def link_short(link: str) -> str:
    """'/db:/web/dbalias' (engine form) → 'db:dbalias' (the `--link` form)."""
    if ":" not in link:
        return link.lstrip("/")
    target, alias = link.split(":", 1)
    return f"{target.lstrip('/')}:{alias.rsplit('/', 1)[-1]}"


def container_status_text(state: dict) -> str:
    status = state.get("Status", "")
    if status == "exited":
        return f"Exited ({state.get('ExitCode', 0)})"
    if state.get("Paused"):
        return "Paused"
    if state.get("Restarting"):
        return "Restarting"
    return status.capitalize()


def endpoint_fields(network_name: str, ep: dict) -> dict:
    ipam = ep.get("IPAMConfig") or {}
    return {
        "network_name": network_name,
        "network_engine_id": ep.get("NetworkID", "") or "",
        "endpoint_id": ep.get("EndpointID", "") or "",
        "ipv4_address": ep.get("IPAddress", "") or "",
        "ipv6_address": ep.get("GlobalIPv6Address", "") or "",
        "prefix_len": ep.get("IPPrefixLen") or None,
        "mac_address": ep.get("MacAddress", "") or "",
        "gateway": ep.get("Gateway", "") or "",
        "ipv6_gateway": ep.get("IPv6Gateway", "") or "",
        "aliases": ep.get("Aliases") or [],
        "links": [link_short(l) for l in ep.get("Links") or []],
        "ipam_config": {k: v for k, v in {"ipv4_address": ipam.get("IPv4Address", ""),
                                          "ipv6_address": ipam.get("IPv6Address", "")}.items() if v},
    }


def endpoints_of(raw: dict) -> list[dict]:
    nets = ((raw.get("NetworkSettings") or {}).get("Networks")) or {}
    return [endpoint_fields(name, ep or {}) for name, ep in nets.items()]


def mount_fields(m: dict) -> dict:
    return {
        "type": m.get("Type", ""),
        "name": m.get("Name", "") or "",
        "source": m.get("Source", "") or "",
        "destination": m.get("Destination", "") or "",
        "driver": m.get("Driver", "") or "",
        "mode": m.get("Mode", "") or "",
        "read_only": not m.get("RW", True),
        "propagation": m.get("Propagation", "") or "",
    }


def mounts_of(raw: dict) -> list[dict]:
    return [mount_fields(m) for m in raw.get("Mounts") or []]


def ports_of(raw: dict) -> list[dict]:
    """Every exposed or published port; one row per host binding."""
    ports = ((raw.get("NetworkSettings") or {}).get("Ports")) or {}
    hc_bindings = ((raw.get("HostConfig") or {}).get("PortBindings")) or {}
    rows = []
    keys = set(ports) | set(hc_bindings)
    for key in sorted(keys):
        port, _, proto = key.partition("/")
        bindings = ports.get(key)
        if bindings is None and (raw.get("State") or {}).get("Status") != "running":
            bindings = hc_bindings.get(key)  # not running: show what it will publish
        if not bindings:
            rows.append({"container_port": int(port), "protocol": proto or "tcp", "host_ip": "", "host_port": None})
            continue
        for b in bindings:
            hp = b.get("HostPort") or ""
            rows.append({
                "container_port": int(port),
                "protocol": proto or "tcp",
                "host_ip": b.get("HostIp", "") or "",
                "host_port": int(hp) if hp.isdigit() else None,
            })
    return rows


def volume_fields(raw: dict, fp: str | None = None) -> dict:
    labels = raw.get("Labels") or {}
    name = raw.get("Name", "")
    return {
        "name": name,
        "driver": raw.get("Driver", "local"),
        "mountpoint": raw.get("Mountpoint", "") or "",
        "scope": raw.get("Scope", "") or "",
        "created": parse_time(raw.get("CreatedAt")),
        "labels": labels,
        "options": raw.get("Options") or {},
        "anonymous": "com.docker.volume.anonymous" in labels or bool(_HEX64.match(name)),
        "raw": raw,
        "fingerprint": fp or fingerprint(raw),
    }
