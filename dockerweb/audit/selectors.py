"""Reads of the audit: the snapshot of a host's mirror the model works on (a handful of
queries, no engine call), the live model and findings, saved audits and their comparison."""
from __future__ import annotations

from django.db.models import QuerySet

from dockerweb.core.errors import NotFound
from dockerweb.inventory.models import Container, Endpoint, Host, Mount, Network, PortBinding

from . import findings as findings_mod
from . import model as m
from .models import Audit

PROBE_LABEL = "dockerweb.probe"


def snapshot_of(*, host: Host) -> m.Snapshot:
    """The host's mirror as plain values. Probe helpers are left out."""
    nets = {}
    for row in Network.objects.filter(host=host).values("engine_id", "name", "driver", "internal", "options",
                                                        "ipam_config", "labels", "raw"):
        opts = row["options"] or {}
        cfg = row["ipam_config"] or []
        nets[row["engine_id"]] = m.Net(
            id=row["engine_id"], name=row["name"], driver=row["driver"], internal=row["internal"],
            icc=str(opts.get("com.docker.network.bridge.enable_icc", "true")).lower() != "false",
            subnets=[c["subnet"] for c in cfg if c.get("subnet")],
            gateways=[c["gateway"] for c in cfg if c.get("gateway")], labels=row["labels"] or {},
            config_only=bool((row["raw"] or {}).get("ConfigOnly")),
        )
    ctrs: dict[str, m.Ctr] = {}
    pk_to_id = {}
    for row in Container.objects.filter(host=host).values(
            "pk", "engine_id", "name", "state", "network_mode", "labels", "links", "privileged", "pid_mode", "ipc_mode",
            "raw__HostConfig__PortBindings"):
        labels = row["labels"] or {}
        if PROBE_LABEL in labels:
            continue
        requested = []
        for key, binds in (row["raw__HostConfig__PortBindings"] or {}).items():
            port, _, proto = key.partition("/")
            for b in binds or []:
                requested.append({"container_port": int(port), "protocol": proto or "tcp", "host_ip": b.get("HostIp", ""),
                                  "host_port": b.get("HostPort", "")})
        ctrs[row["engine_id"]] = m.Ctr(
            id=row["engine_id"], name=row["name"], state=row["state"], network_mode=row["network_mode"], labels=labels,
            links=row["links"] or [], privileged=row["privileged"], pid_mode=row["pid_mode"], ipc_mode=row["ipc_mode"],
            requested_ports=requested)
        pk_to_id[row["pk"]] = row["engine_id"]
    by_name_net = {n.name: n.id for n in nets.values()}
    for e in Endpoint.objects.filter(container__host=host).values("container_id", "network_engine_id", "network_name",
                                                                  "ipv4_address", "gateway", "aliases", "links"):
        cid = pk_to_id.get(e["container_id"])
        if cid is None:
            continue
        ctrs[cid].endpoints.append({
            "network": e["network_engine_id"] or by_name_net.get(e["network_name"], e["network_name"]),
            "network_name": e["network_name"], "ip": e["ipv4_address"], "gateway": e["gateway"],
            "aliases": e["aliases"] or [], "links": e["links"] or []})
    for p in PortBinding.objects.filter(container__host=host).values("container_id", "container_port", "protocol",
                                                                     "host_ip", "host_port"):
        cid = pk_to_id.get(p.pop("container_id"))
        if cid is not None:
            ctrs[cid].ports.append(p)
    for mt in Mount.objects.filter(container__host=host).values("container_id", "type", "source", "destination", "read_only"):
        cid = pk_to_id.get(mt.pop("container_id"))
        if cid is not None:
            ctrs[cid].mounts.append(mt)
    return m.Snapshot(host=host.name, networks=nets, containers=ctrs)


def audit_model(*, host: Host) -> tuple[dict, list[dict]]:
    """(matrix, findings) computed now from the mirror."""
    snap = snapshot_of(host=host)
    matrix = m.compute(snap)
    return matrix, findings_mod.findings_of(snap, matrix)


def audit_list(*, host: Host) -> QuerySet[Audit]:
    return Audit.objects.filter(host=host).select_related("created_by").order_by("-created", "-pk")


def audit_get(*, host: Host | None = None, pk: int) -> Audit:
    qs = Audit.objects.select_related("host", "created_by")
    if host is not None:
        qs = qs.filter(host=host)
    a = qs.filter(pk=pk).first()
    if a is None:
        raise NotFound(f"There is no saved audit #{pk}" + (f" for host {host.name!r}." if host else "."))
    return a


def _reachable_pairs(matrix: dict) -> dict[tuple[str, str], dict]:
    names = {c["id"]: c["name"] for c in matrix.get("containers", [])}
    out = {}
    for cell in matrix.get("cells", {}).values():
        if cell.get("by_ip"):
            key = (names.get(cell["source"], cell["source"][:12]), names.get(cell["target"], cell["target"][:12]))
            out[key] = cell
    return out


def _finding_key(f: dict) -> tuple:
    return (f["rule"], f["subject"], str(sorted((f.get("evidence") or {}).items())))


def audit_compare(*, before: Audit, after: Audit) -> dict:
    """What changed between two saved audits: pairs that became reachable or unreachable (by
    container name, so recreated containers compare), findings that appeared or were fixed."""
    pb, pa = _reachable_pairs(before.matrix), _reachable_pairs(after.matrix)
    fb = {_finding_key(f): f for f in before.findings}
    fa = {_finding_key(f): f for f in after.findings}
    return {
        "before": before.pk, "after": after.pk,
        "newly_reachable": [{"source": s, "target": t} for (s, t) in sorted(set(pa) - set(pb))],
        "no_longer_reachable": [{"source": s, "target": t} for (s, t) in sorted(set(pb) - set(pa))],
        "new_findings": [fa[k] for k in fa if k not in fb],
        "fixed_findings": [fb[k] for k in fb if k not in fa],
    }


def probe_image_info(*, host: Host) -> dict:
    """Which image probes run from on `host` (`{image, override, reason}`), for the page: an
    engine that cannot be reached turns the probes off with its reason instead of failing the page."""
    from dockerweb.core.errors import AppError
    from dockerweb.engine.probes import probe_image_status

    try:
        return probe_image_status(host)
    except AppError as exc:
        return {"image": None, "override": False, "reason": f"Probes are off: {exc.message}"}
