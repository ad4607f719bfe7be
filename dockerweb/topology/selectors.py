"""Reads of the topology graph, built from the mirror.

The graph is made of *fragments*, one per mirror object (`owner`): a container owns its node,
its published-port nodes, its tmpfs and bind nodes and every edge that starts at it; a network
owns its node and the host's edge to it; a volume owns its node; the host owns its own node.
`topology_get` merges all fragments (the API answer); the live patches
(`topology.services.TopologyState`) rebuild only the fragments of the objects that changed and
send the difference, so both speak with the same ids:

    host:<name>  net:<engine id>  ctr:<engine id>  vol:<name>  bind:<host path>
    tmpfs:<ctr engine id>:<destination>  port:<ctr engine id>:<proto>:<port>:<host ip>:<host port>
    att:<ctr>:<net> (attached)  mnt:<ctr>:<destination> (mounts)  pub:<port node id> (publishes)
    netns:<ctr> (shares_netns)  link:<ctr>:<alias> (link)  hnet:<net> (host attached to a bridge)

Bind and tmpfs nodes have kind `volume` (the contract's kinds) with `data.type` bind or tmpfs."""
from __future__ import annotations

import redis
from django.db.models.fields.json import KeyTransform

from dockerweb.core import live
from dockerweb.inventory.models import Container, Endpoint, Host, Mount, Network, PortBinding, Volume

Element = dict  # {"group": "node"|"edge", "id", "kind", "label"?, "source"?, "target"?, "data"}
Fragment = dict  # {element id: Element}


def owner_key(kind: str, ident: str) -> str:
    """The key of the fragment a mirror object owns (`kind` as in `mirror.change`)."""
    return f"{kind}:{ident}"


def _node(nid: str, kind: str, label: str, data: dict) -> Element:
    return {"group": "node", "id": nid, "kind": kind, "label": label, "data": data}


def _edge(eid: str, kind: str, source: str, target: str, data: dict) -> Element:
    return {"group": "edge", "id": eid, "kind": kind, "source": source, "target": target, "data": data}


def _put(frag: Fragment, el: Element) -> None:
    frag[el["id"]] = el


# --- fragments ---------------------------------------------------------------------------------

def host_fragment(host: Host) -> Fragment:
    info = host.info or {}
    return {f"host:{host.name}": _node(f"host:{host.name}", "host", host.name, {
        "name": host.name, "url": host.url, "status": host.status, "engine_version": host.engine_version,
        "swarm": info.get("swarm", ""), "os": info.get("os", "") or info.get("operating_system", ""),
    })}


def bridge_interface(net: Network) -> str:
    """The host interface of a bridge network (`docker0` for the default one, `br-<id12>` else)."""
    name = (net.options or {}).get("com.docker.network.bridge.name")
    if name:
        return name
    return "docker0" if net.name == "bridge" else f"br-{net.engine_id[:12]}"


def network_fragment(net: Network, host_name: str) -> Fragment:
    nid = f"net:{net.engine_id}"
    cfg = net.ipam_config or []
    data = {
        "name": net.name, "id": net.engine_id, "short_id": net.short_id, "driver": net.driver, "scope": net.scope,
        "internal": net.internal, "attachable": net.attachable, "enable_ipv6": net.enable_ipv6,
        "subnets": [c["subnet"] for c in cfg if c.get("subnet")],
        "gateways": [c["gateway"] for c in cfg if c.get("gateway")],
        "icc": net.icc_enabled, "labels": net.labels or {}, "predefined": net.is_predefined,
        "bridge": bridge_interface(net) if net.driver == "bridge" else "",
    }
    frag = {nid: _node(nid, "network", net.name, data)}
    # The host reaches a bridge through its bridge interface (gateway address) and *is* the
    # host network; other drivers (none, overlay, macvlan) have no such edge.
    if net.driver == "bridge" and not net.internal:
        _put(frag, _edge(f"hnet:{net.engine_id}", "attached", f"host:{host_name}", nid,
                         {"interface": data["bridge"], "ip": ",".join(data["gateways"]), "aliases": []}))
    elif net.driver == "host":
        _put(frag, _edge(f"hnet:{net.engine_id}", "attached", f"host:{host_name}", nid,
                         {"interface": "host namespace", "ip": "", "aliases": []}))
    return frag


def volume_fragment(vol: Volume) -> Fragment:
    nid = f"vol:{vol.name}"
    label = vol.name[:12] + "…" if vol.anonymous and len(vol.name) > 16 else vol.name
    return {nid: _node(nid, "volume", label, {
        "type": "volume", "name": vol.name, "driver": vol.driver, "mountpoint": vol.mountpoint,
        "anonymous": vol.anonymous, "labels": vol.labels or {}, "size": vol.size,
    })}


def netns_mode(network_mode: str) -> str:
    """bridge | host | none | container | user (a user-defined network) — how the graph draws it."""
    mode = network_mode or ""
    if mode in ("", "default", "bridge"):
        return "bridge"
    if mode in ("host", "none"):
        return mode
    if mode.startswith("container:"):
        return "container"
    return "user"


class Resolver:
    """Finds containers by full id, name or unique id prefix (links and `container:` modes name
    their target either way)."""

    def __init__(self, rows):
        self.by_id: dict[str, tuple[str, str]] = {}
        self.by_name: dict[str, str] = {}
        for engine_id, name in rows:
            self.by_id[engine_id] = (engine_id, name)
            self.by_name[name] = engine_id

    @classmethod
    def for_host(cls, host: Host, names: set[str] | None = None, ids: set[str] | None = None) -> "Resolver":
        qs = Container.objects.filter(host=host)
        if names is not None or ids is not None:
            from django.db.models import Q

            q = Q(pk__in=[])
            if names:
                q |= Q(name__in=names)
            for i in ids or ():
                q |= Q(engine_id__startswith=i)
            qs = qs.filter(q)
        return cls(qs.values_list("engine_id", "name"))

    def find(self, ref: str) -> str | None:
        ref = ref.lstrip("/")
        if ref in self.by_id:
            return ref
        if ref in self.by_name:
            return self.by_name[ref]
        hits = [i for i in self.by_id if i.startswith(ref)] if len(ref) >= 3 else []
        return hits[0] if len(hits) == 1 else None


# Containers are read as plain rows (values_list), not model instances: at hundreds of
# containers building instances costs more than the queries themselves.
_CTR_FIELDS = ("pk", "engine_id", "name", "image", "state", "status", "network_mode", "labels", "links", "privileged",
               "tmpfs_config")
_EP_FIELDS = ("container_id", "network_name", "network_engine_id", "network__engine_id", "ipv4_address",
              "ipv6_address", "mac_address", "aliases", "links", "ipam_config")
_MOUNT_FIELDS = ("container_id", "type", "name", "source", "destination", "read_only", "mode")
_PORT_FIELDS = ("container_id", "container_port", "protocol", "host_ip", "host_port")


def container_rows(*, host: Host, engine_ids: set[str] | None = None) -> list[dict]:
    """Containers of the host (or those ids) with `endpoints`, `mounts` and `ports`: four queries."""
    qs = Container.objects.filter(host=host)
    if engine_ids is not None:
        qs = qs.filter(engine_id__in=engine_ids)
    qs = qs.annotate(tmpfs_config=KeyTransform("Tmpfs", KeyTransform("HostConfig", "raw")))
    rows = [dict(zip(_CTR_FIELDS, r)) for r in qs.values_list(*_CTR_FIELDS)]
    by_pk = {}
    for r in rows:
        r["endpoints"], r["mounts"], r["ports"] = [], [], []
        by_pk[r["pk"]] = r
    if not rows:
        return rows
    children = {"container__host": host} if engine_ids is None else {"container_id__in": list(by_pk)}
    for model, fields, key in ((Endpoint, _EP_FIELDS, "endpoints"), (Mount, _MOUNT_FIELDS, "mounts"),
                               (PortBinding, _PORT_FIELDS, "ports")):
        for values in model.objects.filter(**children).order_by().values_list(*fields):
            row = dict(zip(fields, values))
            owner = by_pk.get(row.pop("container_id"))
            if owner is not None:
                owner[key].append(row)
    for r in rows:
        r["endpoints"].sort(key=lambda e: e["network_name"])
        r["mounts"].sort(key=lambda m: m["destination"])
        r["ports"].sort(key=lambda p: (p["container_port"], p["protocol"], p["host_ip"]))
    return rows


def _netns_source(c: dict) -> str | None:
    mode = c["network_mode"] or ""
    return mode.split(":", 1)[1] if mode.startswith("container:") else None


def _link_refs(c: dict) -> list[tuple[str, str]]:
    """(target, alias) of the container's legacy links and per-network links, without repeats."""
    seen, out = set(), []
    for link in list(c["links"] or []) + [l for e in c["endpoints"] for l in (e["links"] or [])]:
        target, _, alias = link.partition(":")
        key = (target.lstrip("/"), alias or target.lstrip("/"))
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def container_refs(c: dict) -> tuple[set[str], set[str]]:
    """Names and ids this container points at (links, `container:` mode) — for a Resolver."""
    names = {t for t, _ in _link_refs(c)}
    ids = set()
    source = _netns_source(c)
    if source:
        names.add(source)
        ids.add(source)
    return names, ids


def _attached_to(e: dict, net_ids: dict[str, str] | None) -> str:
    """The id of the (existing) network an endpoint row is on, or "" when that network is gone."""
    return e["network__engine_id"] or ("" if e["network_engine_id"] else (net_ids or {}).get(e["network_name"], ""))


def container_fragment(c: dict, resolve: Resolver, net_ids: dict[str, str] | None = None) -> Fragment:
    """The container's node, its port, tmpfs and bind nodes, and every edge that starts at it.
    `c` is a row of `container_rows`; `net_ids` maps network names to ids for endpoints of
    created-but-never-started containers (the engine gives them no network id yet)."""
    engine_id, name = c["engine_id"], c["name"]
    cid = f"ctr:{engine_id}"
    mode = netns_mode(c["network_mode"])
    endpoints, ports = c["endpoints"], c["ports"]
    frag: Fragment = {}
    _put(frag, _node(cid, "container", name, {
        "name": name, "id": engine_id, "short_id": engine_id[:12], "image": c["image"], "state": c["state"],
        "status": c["status"], "network_mode": c["network_mode"], "mode": mode, "labels": c["labels"] or {},
        "networks": sorted(e["network_name"] for e in endpoints),
        # Entries for networks the host no longer has: the container cannot start until they go.
        "missing_networks": sorted(e["network_name"] for e in endpoints if not _attached_to(e, net_ids)),
        "ips": [e["ipv4_address"] for e in endpoints if e["ipv4_address"]],
        "exposed": sorted({f"{p['container_port']}/{p['protocol']}" for p in ports if p["host_port"] is None}),
        "privileged": c["privileged"],
    }))
    for e in endpoints:
        net_id = _attached_to(e, net_ids)
        if not net_id:
            continue
        _put(frag, _edge(f"att:{engine_id}:{net_id}", "attached", cid, f"net:{net_id}", {
            "network": e["network_name"], "ip": e["ipv4_address"], "ipv6": e["ipv6_address"], "mac": e["mac_address"],
            "aliases": [a for a in (e["aliases"] or []) if a != engine_id[:12] and a != engine_id],
            "fixed_ip": (e["ipam_config"] or {}).get("ipv4_address", ""), "mode": mode,
        }))
    source = _netns_source(c)
    if source:
        src = resolve.find(source)
        if src:
            _put(frag, _edge(f"netns:{engine_id}", "shares_netns", cid, f"ctr:{src}",
                             {"mode": f"container:{resolve.by_id[src][1]}"}))
    for target, alias in _link_refs(c):
        tid = resolve.find(target)
        if tid:
            _put(frag, _edge(f"link:{engine_id}:{alias}", "link", cid, f"ctr:{tid}", {"alias": alias, "target": target}))
    mounts = [(m["type"], m["name"], m["source"], m["destination"], m["read_only"], m["mode"]) for m in c["mounts"]]
    # `--tmpfs` mounts are not in the engine's Mounts list, only in HostConfig.Tmpfs.
    listed = {m[3] for m in mounts}
    for dest, opts in sorted((c.get("tmpfs_config") or {}).items()):
        if dest not in listed:
            mounts.append((Mount.Type.TMPFS, "", "", dest, "ro" in (opts or "").split(","), opts or ""))
    for m_type, m_name, m_source, m_dest, m_ro, m_mode in mounts:
        if m_type == Mount.Type.VOLUME and m_name:
            target = f"vol:{m_name}"
        elif m_type == Mount.Type.BIND:
            target = f"bind:{m_source}"
            _put(frag, _node(target, "volume", m_source, {"type": "bind", "source": m_source}))
        elif m_type == Mount.Type.TMPFS:
            target = f"tmpfs:{engine_id}:{m_dest}"
            _put(frag, _node(target, "volume", f"tmpfs {m_dest}", {"type": "tmpfs", "destination": m_dest}))
        else:
            continue
        _put(frag, _edge(f"mnt:{engine_id}:{m_dest}", "mounts", cid, target, {
            "type": str(m_type), "destination": m_dest, "read_only": m_ro, "mode": m_mode,
        }))
    for p in ports:
        host_ip, host_port, cport, proto = p["host_ip"] or "", p["host_port"], p["container_port"], p["protocol"]
        if host_port is None:
            continue  # exposed only: listed on the container
        pid = f"port:{engine_id}:{proto}:{cport}:{host_ip}:{host_port}"
        host_addr = f"[{host_ip}]:{host_port}" if ":" in host_ip else f"{host_ip or '0.0.0.0'}:{host_port}"
        _put(frag, _node(pid, "port", f"{host_addr}/{proto}", {
            "host_ip": host_ip, "host_port": host_port, "container_port": cport, "protocol": proto,
            "address": host_addr, "all_interfaces": host_ip in ("", "0.0.0.0", "::"),
        }))
        _put(frag, _edge(f"pub:{pid}", "publishes", pid, cid, {
            "host_ip": host_ip, "host_port": host_port, "container_port": cport, "protocol": proto,
        }))
    return frag


# --- whole host and single objects -------------------------------------------------------------

def host_fragments(*, host: Host) -> dict[str, Fragment]:
    """Every fragment of the host's graph, keyed by owner (five queries)."""
    out: dict[str, Fragment] = {owner_key("host", host.name): host_fragment(host)}
    net_ids = {}
    for net in Network.objects.filter(host=host).defer("raw"):
        out[owner_key("network", net.engine_id)] = network_fragment(net, host.name)
        net_ids[net.name] = net.engine_id
    for vol in Volume.objects.filter(host=host).defer("raw"):
        out[owner_key("volume", vol.name)] = volume_fragment(vol)
    containers = container_rows(host=host)
    resolve = Resolver((c["engine_id"], c["name"]) for c in containers)
    for c in containers:
        out[owner_key("container", c["engine_id"])] = container_fragment(c, resolve, net_ids)
    return out


def object_fragments(*, host: Host, keys: set[str]) -> dict[str, Fragment]:
    """The current fragments of the given owners (`kind:id`); an owner the mirror no longer has
    maps to an empty fragment. Few queries however many keys."""
    by_kind: dict[str, set[str]] = {}
    for key in keys:
        kind, _, ident = key.partition(":")
        by_kind.setdefault(kind, set()).add(ident)
    out: dict[str, Fragment] = {k: {} for k in keys}
    if "host" in by_kind:
        out[owner_key("host", host.name)] = host_fragment(host)
    if by_kind.get("network"):
        ids = by_kind["network"]
        for net in Network.objects.filter(host=host).defer("raw").filter(engine_id__in=ids):
            out[owner_key("network", net.engine_id)] = network_fragment(net, host.name)
        # `network_forget` may name a network by its name.
        for net in Network.objects.filter(host=host, name__in=ids).defer("raw"):
            out.pop(owner_key("network", net.name), None)
            out[owner_key("network", net.engine_id)] = network_fragment(net, host.name)
    if by_kind.get("volume"):
        for vol in Volume.objects.filter(host=host, name__in=by_kind["volume"]).defer("raw"):
            out[owner_key("volume", vol.name)] = volume_fragment(vol)
    if by_kind.get("container"):
        containers = container_rows(host=host, engine_ids=by_kind["container"])
        names, ids = set(), set()
        for c in containers:
            n, i = container_refs(c)
            names |= n
            ids |= i
        # Most changes need neither lookup: skip their queries (this runs once per change per socket).
        resolve = Resolver.for_host(host, names=names, ids=ids) if names or ids else Resolver(())
        unresolved = {e["network_name"] for c in containers for e in c["endpoints"]
                      if not (e["network_engine_id"] or e["network__engine_id"])}
        net_ids = dict(Network.objects.filter(host=host, name__in=unresolved).values_list("name", "engine_id")) if unresolved else {}
        for c in containers:
            out[owner_key("container", c["engine_id"])] = container_fragment(c, resolve, net_ids)
    return out


def merge(fragments: dict[str, Fragment]) -> dict[str, Element]:
    merged: dict[str, Element] = {}
    for frag in fragments.values():
        merged.update(frag)
    return merged


def as_contract(elements) -> dict:
    """{nodes, edges} in the API contract's shape; edges whose ends are missing are left out
    (e.g. a link to a container that was removed)."""
    elements = list(elements)
    nodes = [{"id": e["id"], "kind": e["kind"], "label": e["label"], "data": e["data"]}
             for e in elements if e["group"] == "node"]
    ids = {n["id"] for n in nodes}
    edges = [{"id": e["id"], "source": e["source"], "target": e["target"], "kind": e["kind"], "data": e["data"]}
             for e in elements if e["group"] == "edge" and e["source"] in ids and e["target"] in ids]
    return {"nodes": nodes, "edges": edges}


def topology_get(*, host: Host, with_seq: bool = False) -> dict:
    """`GET /api/hosts/{host}/topology/`: the whole graph of one host. With `with_seq`, also the
    number of the last live patch it includes: read before the mirror, so every change made
    after that patch is either in the graph or in a later patch (patches set whole elements,
    so one applied twice changes nothing)."""
    seq = None
    if with_seq:
        try:
            seq = live.topology_seq(host.name)
        except redis.RedisError:
            seq = 0  # no live stream without Redis; the graph itself is still the mirror's
    graph = as_contract(merge(host_fragments(host=host)).values())
    if seq is not None:
        graph = {"seq": seq, **graph}
    return graph
