"""The reachability model: who can reach whom on one host, and why. Pure functions over a
snapshot of plain values (see `selectors.snapshot_of`), so it is fast and testable alone.

How Docker decides (the rules the live probes confirmed on a real engine):
- Each container lives in a network namespace: its own, the host's (`--network host`), an
  empty one (`--network none`), or another container's (`--network container:<x>`, which we
  follow to its owner). Two containers in one namespace reach each other over loopback.
- Containers reach each other directly only over a network both are attached to. Docker drops
  traffic between two different bridge networks, and `--internal` networks have no route out.
- On a bridge with `com.docker.network.bridge.enable_icc=false` containers cannot reach each
  other at all (only the host, through the gateway).
- The host (and so every `--network host` container) reaches every container's bridge address,
  internal and ICC-off networks included; every container with a bridge address reaches the host.
- Names resolve through Docker's DNS on user-defined networks, for containers attached to a
  shared network (followers in container mode have no name of their own). On the default bridge
  names do not resolve, except the targets of legacy `--link`s, written into /etc/hosts.
- From outside: published ports, on the address they bind (0.0.0.0 / :: is every interface);
  a host-mode container's listening ports are the host's. Egress needs a non-internal network.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

DEFAULT_BRIDGE = "bridge"
ROUTED_DRIVERS = ("bridge",)  # drivers whose container addresses the host routes to
NO_DNS_NETWORKS = ("bridge", "host", "none")


@dataclass
class Net:
    id: str
    name: str
    driver: str
    internal: bool = False
    icc: bool = True
    subnets: list = field(default_factory=list)
    gateways: list = field(default_factory=list)
    labels: dict = field(default_factory=dict)
    config_only: bool = False

    @property
    def user_defined(self) -> bool:
        return self.name not in NO_DNS_NETWORKS

    @property
    def is_default_bridge(self) -> bool:
        return self.name == DEFAULT_BRIDGE


@dataclass
class Ctr:
    id: str
    name: str
    state: str = "running"
    network_mode: str = ""
    labels: dict = field(default_factory=dict)
    links: list = field(default_factory=list)  # ['target:alias'] (HostConfig.Links)
    endpoints: list = field(default_factory=list)  # [{network (id), network_name, ip, gateway, aliases, links}]
    ports: list = field(default_factory=list)  # [{container_port, protocol, host_ip, host_port}]
    requested_ports: list = field(default_factory=list)  # HostConfig.PortBindings flattened
    privileged: bool = False
    pid_mode: str = ""
    ipc_mode: str = ""
    mounts: list = field(default_factory=list)  # [{type, source, destination, read_only}]


@dataclass
class Snapshot:
    host: str
    networks: dict  # id -> Net
    containers: dict  # id -> Ctr


# --- namespaces ---------------------------------------------------------------------------------

def _resolve_owner(ctr: Ctr, containers: dict, by_name: dict) -> Ctr | None:
    """Follow `container:<x>` to the container that owns the namespace (None if gone)."""
    seen = set()
    cur = ctr
    while cur.network_mode.startswith("container:"):
        if cur.id in seen:
            return None
        seen.add(cur.id)
        ref = cur.network_mode.split(":", 1)[1]
        nxt = containers.get(ref) or by_name.get(ref.lstrip("/"))
        if nxt is None:
            nxt = next((c for cid, c in containers.items() if cid.startswith(ref)), None) if len(ref) >= 12 else None
        if nxt is None:
            return None
        cur = nxt
    return cur


def netns_key(owner: Ctr | None) -> str:
    if owner is None:
        return "gone"
    if owner.network_mode == "host":
        return "host"
    return "ns:" + owner.id


def _first_host(subnet: str) -> str:
    try:
        net = ipaddress.ip_network(subnet, strict=False)
        return str(next(net.hosts()))
    except (ValueError, StopIteration):
        return ""


# --- the model ----------------------------------------------------------------------------------

def compute(snap: Snapshot) -> dict:
    """The matrix: `{containers: [...], cells: {"src>dst": cell}, networks: [...]}`.

    A cell is listed for every ordered pair that can talk or that shares a network (so a block
    has its reason); pairs absent from `cells` share nothing and cannot talk. Only running
    containers take part. A cell: `{source, target, by_ip, by_name, paths, blocked, addresses,
    names}` where `addresses` are the target's addresses the source would try, each with the
    model's verdict — the same list the probes test."""
    nets = snap.networks
    running = {cid: c for cid, c in snap.containers.items() if c.state == "running"}
    by_name = {c.name: c for c in snap.containers.values()}
    owner = {cid: _resolve_owner(c, snap.containers, by_name) for cid, c in running.items()}
    ns = {cid: netns_key(o) for cid, o in owner.items()}
    # Endpoints of each namespace (a follower uses its owner's).
    ns_eps: dict[str, list] = {}
    for cid, o in owner.items():
        key = ns[cid]
        if key.startswith("ns:") and key not in ns_eps:
            ns_eps[key] = [e for e in o.endpoints if e.get("ip") or e.get("network") in nets]
    members_by_ns: dict[str, list] = {}
    for cid, key in ns.items():
        members_by_ns.setdefault(key, []).append(cid)

    cells: dict[str, dict] = {}

    def cell(s: str, t: str) -> dict:
        k = f"{s}>{t}"
        c = cells.get(k)
        if c is None:
            c = cells[k] = {"source": s, "target": t, "by_ip": False, "by_name": False, "paths": [],
                            "blocked": [], "addresses": {}, "names": {}}
        return c

    # 1. One namespace: loopback.
    for key, members in members_by_ns.items():
        if key == "gone" or len(members) < 2:
            continue
        how = "the host's network namespace (--network host)" if key == "host" else "one network namespace (--network container:…)"
        for s in members:
            for t in members:
                if s != t:
                    c = cell(s, t)
                    c["by_ip"] = True
                    c["paths"].append({"kind": "netns", "via": key, "why": f"They share {how}: loopback reaches every port."})
                    for e in ns_eps.get(key, []):
                        if e.get("ip"):
                            c["addresses"][e["ip"]] = True

    # 2. Shared networks.
    net_members: dict[str, list] = {}
    for key, eps in ns_eps.items():
        for e in eps:
            n = nets.get(e["network"])
            if n is not None and n.driver not in ("null", "host"):
                net_members.setdefault(e["network"], []).append((key, e))
    ns_members_running = members_by_ns
    for nid, members in net_members.items():
        net = nets.get(nid)
        if net is None or len(members) < 2:
            continue
        passes = net.icc
        for skey, _se in members:
            for tkey, te in members:
                if skey == tkey:
                    continue
                for s in ns_members_running[skey]:
                    for t in ns_members_running[tkey]:
                        c = cell(s, t)
                        ip = te.get("ip")
                        if passes:
                            c["by_ip"] = True
                            c["paths"].append({"kind": "network", "network": net.name, "network_id": net.id,
                                               "address": ip, "why": f"Both are attached to {net.name}."})
                            if ip:
                                c["addresses"][ip] = True
                        else:
                            c["blocked"].append({"network": net.name, "network_id": net.id,
                                                 "why": f"{net.name} has inter-container traffic off (enable_icc=false)."})
                            if ip:
                                c["addresses"].setdefault(ip, False)

    # 3. The host: host-mode containers reach every routed address, and are reached through a gateway.
    host_members = ns_members_running.get("host", [])
    if host_members:
        for key, eps in ns_eps.items():
            routed = [e for e in eps if e.get("ip") and nets.get(e["network"]) and nets[e["network"]].driver in ROUTED_DRIVERS]
            if not routed:
                continue
            gateway = ""
            for e in routed:
                n = nets[e["network"]]
                gateway = e.get("gateway") or (n.gateways[0] if n.gateways else "") or (_first_host(n.subnets[0]) if n.subnets else "")
                if gateway:
                    break
            for h in host_members:
                for other in ns_members_running[key]:
                    c = cell(h, other)
                    c["by_ip"] = True
                    c["paths"].append({"kind": "host", "why": "The host reaches every container's bridge address."})
                    for e in routed:
                        c["addresses"][e["ip"]] = True
                    back = cell(other, h)
                    back["by_ip"] = True
                    back["paths"].append({"kind": "host", "address": gateway,
                                          "why": "Every container with a bridge address reaches the host through its gateway."})
                    if gateway:
                        back["addresses"][gateway] = True

    # 4. Addresses a source would try even when the model says no (so probes test them too):
    #    the target's own addresses on networks the source is not on.
    for c in cells.values():
        tkey = ns[c["target"]]
        for e in ns_eps.get(tkey, []):
            if e.get("ip"):
                c["addresses"].setdefault(e["ip"], False)

    # 5. Names.
    for cid in running:
        key = ns[cid]
        if not key.startswith("ns:"):
            continue
        o = owner[cid]
        src_nets = {e["network"] for e in ns_eps.get(key, [])}
        # Legacy links: /etc/hosts of the namespace owner.
        for link in o.links:
            target_name, _, alias = link.partition(":")
            tgt = by_name.get(target_name)
            if tgt is None or tgt.id not in running or tgt.id == cid:
                continue
            c = cell(cid, tgt.id)
            ok = c["by_ip"] and any(p.get("network") == DEFAULT_BRIDGE or p["kind"] == "netns" for p in c["paths"])
            c["names"][tgt.name] = ok
            if alias and alias != tgt.name:
                c["names"].setdefault(alias, ok)
            c["paths"].append({"kind": "link", "alias": alias, "why": f"Legacy link {link}: the name is in /etc/hosts."})
        # Docker's DNS: the target's own name on a shared user-defined network.
        for nid in src_nets:
            net = nets.get(nid)
            if net is None or not net.user_defined:
                continue
            for tkey, te in net_members.get(nid, []):
                towner = owner[ns_members_running[tkey][0]]
                if towner is None or towner.id == cid or towner.id not in running:
                    continue
                c = cell(cid, towner.id)
                ok = tkey == key or net.icc
                c["names"][towner.name] = c["names"].get(towner.name, False) or ok
    # Containers whose names would be tried although they do not resolve (every listed pair).
    for c in cells.values():
        tname = running[c["target"]].name
        c["names"].setdefault(tname, False)
        c["by_name"] = bool(c["names"].get(tname))

    containers = []
    for cid, c in snap.containers.items():
        o = owner.get(cid)
        key = ns.get(cid, "stopped")
        eps = ns_eps.get(key, []) if key.startswith("ns:") else []
        containers.append({
            "id": cid, "name": c.name, "state": c.state, "network_mode": display_mode(c.network_mode, snap.containers) or "default",
            "netns": key, "netns_owner": o.id if o is not None and o.id != cid else "",
            "networks": [nets[e["network"]].name if e["network"] in nets else e.get("network_name", "?") for e in eps],
            "addresses": {(nets[e["network"]].name if e["network"] in nets else e.get("network_name", "?")): e.get("ip", "") for e in eps},
            "labels": c.labels,
            "exposure": exposure_of(c, o, eps, nets),
        })
    containers.sort(key=lambda x: x["name"])
    return {
        "host": snap.host,
        "containers": containers,
        "networks": [{"id": n.id, "name": n.name, "driver": n.driver, "internal": n.internal, "icc": n.icc,
                      "subnets": n.subnets} for n in sorted(nets.values(), key=lambda n: n.name)],
        "cells": cells,
    }


def display_mode(mode: str, containers: dict) -> str:
    """`container:<64 hex>` → `container:<name>`, for people; other modes as they are."""
    if mode.startswith("container:"):
        ref = mode.split(":", 1)[1]
        c = containers.get(ref) or next((x for cid, x in containers.items() if len(ref) >= 12 and cid.startswith(ref)), None)
        return f"container:{c.name}" if c is not None else mode
    return mode


def exposure_of(c: Ctr, owner: Ctr | None, eps: list, nets: dict) -> dict:
    """What the outside can reach of `c`, and whether `c` can reach out."""
    src = owner or c
    published = []
    for p in src.ports:
        if p.get("host_port") is None:
            continue
        hip = p.get("host_ip") or "0.0.0.0"
        scope = "all interfaces" if hip in ("0.0.0.0", "::", "") else ("loopback only" if hip.startswith("127.") or hip == "::1" else f"address {hip}")
        published.append({**p, "host_ip": hip, "scope": scope})
    mode = (owner.network_mode if owner else c.network_mode) or "default"
    egress = mode == "host" or any(not nets[e["network"]].internal for e in eps if e["network"] in nets
                                   and nets[e["network"]].driver != "null")
    return {"published": published, "host_network": mode == "host", "egress": egress,
            "isolated": mode == "none" or (not eps and mode != "host")}
