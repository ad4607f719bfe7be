"""Writes of the audit: run (and save) an audit, run probes for a pair or a network.

Both are operator actions (`audit.run`, `audit.probe`), checked and logged by `core.services.change`."""
from __future__ import annotations

from collections import Counter

from dockerweb.core.errors import AppError, BadRequest
from dockerweb.core.services import change, permission_check
from dockerweb.inventory.models import Host
from dockerweb.inventory.services import host_reconcile

from . import probing, selectors
from .findings import SEVERITIES
from .models import Audit


def _summary(matrix: dict, findings: list[dict], probes: dict) -> dict:
    sev = Counter(f["severity"] for f in findings)
    return {
        "severities": {s: sev.get(s, 0) for s in SEVERITIES},
        "findings": len(findings),
        "containers": sum(1 for c in matrix["containers"] if c["state"] == "running"),
        "reachable_pairs": sum(1 for c in matrix["cells"].values() if c["by_ip"]),
        "probed_pairs": len(probes.get("pairs") or []),
        "mismatches": len(probes.get("mismatches") or []),
    }


def _refresh(host: Host) -> None:
    """Bring the mirror up to date first; an unreachable engine leaves it as it is (the audit
    then describes the last known state, which the page says)."""
    try:
        host_reconcile(host=host)
    except AppError:
        pass  # probes will say so themselves; a model-only audit can use the last mirror


def audit_run(*, actor, host: Host, probe: bool = False, refresh: bool = True, parallel: int = 4) -> Audit:
    """Compute the model and findings from the mirror, optionally prove every pair with live
    probes (mismatches become findings), and save it all as an Audit."""
    if probe:
        permission_check(user=actor, action="audit.probe", host=host, target=host.name)
    with change(user=actor, action="audit.run", host=host, target=host.name, detail={"probe": probe}) as ch:
        if refresh:
            _refresh(host)
        matrix, findings = selectors.audit_model(host=host)
        probes: dict = {"ran": False}
        if probe:
            running = [c["id"] for c in matrix["containers"] if c["state"] == "running"]
            pairs = [(s, t) for s in running for t in running if s != t]
            probes = probing.probe_pairs(host, matrix, pairs, parallel=parallel)
            findings = findings + probing.mismatch_findings(probes)
        audit = Audit.objects.create(
            host=host, created_by=actor if getattr(actor, "is_authenticated", False) else None,
            username=getattr(actor, "username", "") or "", findings=findings, matrix=matrix, probes=probes,
            summary=_summary(matrix, findings, probes))
        ch.target = f"{host.name} audit #{audit.pk}"
        ch.detail.update({"audit": audit.pk, "findings": len(findings), "mismatches": audit.mismatch_count})
        return audit


def audit_probe(*, actor, host: Host, source: str = "", target: str = "", network: str = "", parallel: int = 4) -> dict:
    """Probe one pair (both directions) or every pair of a network's containers, now, against
    the current model. Returns the comparison (not saved)."""
    with change(user=actor, action="audit.probe", host=host, target=network or f"{source}->{target}") as ch:
        matrix, _ = selectors.audit_model(host=host)
        by_ref = {}
        for c in matrix["containers"]:
            by_ref[c["id"]] = c
            by_ref.setdefault(c["name"], c)
        running = {c["id"] for c in matrix["containers"] if c["state"] == "running"}

        def find(ref: str, field: str):
            c = by_ref.get(ref) or next((x for x in matrix["containers"] if len(ref) >= 4 and x["id"].startswith(ref)), None)
            if c is None:
                raise BadRequest(f"Host {host.name!r} has no container {ref!r}.", field=field)
            if c["id"] not in running:
                raise BadRequest(f"{c['name']} is not running: there is nothing to probe.", field=field)
            return c["id"]

        if network:
            members = [c["id"] for c in matrix["containers"] if network in c["networks"] and c["id"] in running]
            if not any(n["name"] == network or n["id"] == network for n in matrix["networks"]):
                raise BadRequest(f"Host {host.name!r} has no network {network!r}.", field="network")
            if len(members) < 2:
                raise BadRequest(f"{network} has fewer than two running containers: no pair to probe.", field="network")
            pairs = [(s, t) for s in members for t in members if s != t]
        else:
            if not source or not target:
                raise BadRequest("Name a source and a target container, or a network.", field="source" if not source else "target")
            s, t = find(source, "source"), find(target, "target")
            if s == t:
                raise BadRequest("Source and target are the same container.", field="target")
            pairs = [(s, t), (t, s)]
        result = probing.probe_pairs(host, matrix, pairs, parallel=parallel)
        result["findings"] = probing.mismatch_findings(result)
        ch.detail.update({"pairs": len(pairs), "mismatches": len(result["mismatches"])})
        return result
