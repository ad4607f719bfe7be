"""What the API must show for an engine object, built straight from the docker SDK's own
attributes (independently of dockerweb's parser), and a whole-host comparison."""
from __future__ import annotations

IMAGE = "dockerweb-test/busybox:latest"


def _ip(addr: str) -> str:
    return (addr or "").split("/")[0]


def expected_network(attrs: dict) -> dict:
    ipam = attrs.get("IPAM") or {}
    return {
        "id": attrs["Id"],
        "name": attrs["Name"],
        "driver": attrs["Driver"],
        "scope": attrs["Scope"],
        "internal": attrs["Internal"],
        "attachable": attrs["Attachable"],
        "enable_ipv6": attrs["EnableIPv6"],
        "options": attrs.get("Options") or {},
        "labels": attrs.get("Labels") or {},
        "ipam": {"driver": ipam.get("Driver"), "config": [
            {"subnet": c.get("Subnet", ""), "gateway": c.get("Gateway", ""), "ip_range": c.get("IPRange", ""),
             "aux_addresses": c.get("AuxiliaryAddresses") or {}} for c in ipam.get("Config") or []]},
        "containers": sorted(
            ({"id": cid, "name": c["Name"], "ipv4_address": _ip(c.get("IPv4Address")),
              "ipv6_address": _ip(c.get("IPv6Address")), "mac_address": c.get("MacAddress", "")}
             for cid, c in (attrs.get("Containers") or {}).items()), key=lambda c: c["id"]),
    }


def api_network(item: dict) -> dict:
    """The API's network in the shape of `expected_network` (aliases are checked per container)."""
    out = {k: item[k] for k in ("id", "name", "driver", "scope", "internal", "attachable", "enable_ipv6", "options", "labels")}
    out["ipam"] = {"driver": item["ipam"]["driver"], "config": item["ipam"]["config"]}
    out["containers"] = sorted(({k: c[k] for k in ("id", "name", "ipv4_address", "ipv6_address", "mac_address")}
                                for c in item["containers"]), key=lambda c: c["id"])
    return out


def engine_networks(client) -> dict[str, str]:
    """{id: name} of the engine's networks."""
    return {n["Id"]: n["Name"] for n in client.api.networks()}


def expected_container(attrs: dict, networks: dict[str, str] | None = None) -> dict:
    """`networks`: {id: name} of the engine's networks (to tell entries of removed ones)."""
    ns = attrs["NetworkSettings"]
    networks = networks or {}
    ports = []
    for key, bindings in (ns.get("Ports") or {}).items():
        port, _, proto = key.partition("/")
        for b in bindings or [None]:
            ports.append({"container_port": int(port), "protocol": proto,
                          "host_ip": b["HostIp"] if b else "", "host_port": int(b["HostPort"]) if b else None})
    return {
        "id": attrs["Id"],
        "name": attrs["Name"].lstrip("/"),
        "image": attrs["Config"]["Image"],
        "state": attrs["State"]["Status"],
        "network_mode": attrs["HostConfig"]["NetworkMode"],
        "networks": {name: {"ipv4_address": ep.get("IPAddress", ""), "ipv6_address": ep.get("GlobalIPv6Address", ""),
                            "mac_address": ep.get("MacAddress", ""), "aliases": ep.get("Aliases") or [],
                            "gateway": ep.get("Gateway", ""), "network_id": ep.get("NetworkID") or "",
                            "network_missing": (ep["NetworkID"] not in networks) if ep.get("NetworkID")
                            else name not in networks.values()}
                     for name, ep in (ns.get("Networks") or {}).items()},
        "ports": sorted(ports, key=lambda p: (p["container_port"], p["protocol"], p["host_ip"])),
        "mounts": sorted(({"type": m["Type"], "name": m.get("Name", ""), "source": m["Source"],
                           "destination": m["Destination"], "read_only": not m["RW"]} for m in attrs.get("Mounts") or []),
                         key=lambda m: m["destination"]),
        "labels": attrs["Config"].get("Labels") or {},
    }


def api_container(item: dict) -> dict:
    out = {k: item[k] for k in ("id", "name", "image", "state", "network_mode", "networks", "labels")}
    out["ports"] = sorted(item["ports"], key=lambda p: (p["container_port"], p["protocol"], p["host_ip"]))
    out["mounts"] = sorted(item["mounts"], key=lambda m: m["destination"])
    return out


def expected_volume(attrs: dict, containers: list[dict]) -> dict:
    used_by = sorted(({"container": c["Id"], "name": c["Name"].lstrip("/"), "destination": m["Destination"],
                       "read_only": not m["RW"]}
                      for c in containers for m in c.get("Mounts") or []
                      if m["Type"] == "volume" and m.get("Name") == attrs["Name"]), key=lambda u: (u["container"], u["destination"]))
    return {"name": attrs["Name"], "driver": attrs["Driver"], "mountpoint": attrs["Mountpoint"], "scope": attrs["Scope"],
            "labels": attrs.get("Labels") or {}, "options": attrs.get("Options") or {}, "used_by": used_by}


def api_volume(item: dict) -> dict:
    out = {k: item[k] for k in ("name", "driver", "mountpoint", "scope", "labels", "options")}
    out["used_by"] = sorted(item["used_by"], key=lambda u: (u["container"], u["destination"]))
    return out


def api_all(api, host_name: str, what: str) -> list[dict]:
    r = api.get(f"/api/hosts/{host_name}/{what}/", {"page_size": 1000})
    assert r.status_code == 200, r.content
    return r.json()


def differences(api, host_name: str, client) -> list[str]:
    """Every way the API's view of the host differs from the engine's (empty: equal)."""
    diffs = []
    engine_nets = {n["Id"]: expected_network(client.api.inspect_network(n["Id"])) for n in client.api.networks()}
    api_nets = {n["id"]: api_network(n) for n in api_all(api, host_name, "networks")}
    raw_containers = [client.api.inspect_container(c["Id"]) for c in client.api.containers(all=True)]
    engine_cs = {c["Id"]: expected_container(c, engine_networks(client)) for c in raw_containers}
    api_cs = {c["id"]: api_container(c) for c in api_all(api, host_name, "containers")}
    engine_vs = {v["Name"]: expected_volume(v, raw_containers) for v in client.api.volumes().get("Volumes") or []}
    api_vs = {v["name"]: api_volume(v) for v in api_all(api, host_name, "volumes")}
    for kind, want, have in (("network", engine_nets, api_nets), ("container", engine_cs, api_cs),
                             ("volume", engine_vs, api_vs)):
        for key in sorted(set(want) | set(have)):
            if want.get(key) != have.get(key):
                diffs.append(f"{kind} {key[:12]}: engine {want.get(key)!r} != mirror {have.get(key)!r}")
    return diffs
