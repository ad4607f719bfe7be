"""Writes of the audit: run (and save) an audit, run probes for a pair or a network.

Both are operator actions (`audit.run`, `audit.probe`), checked and logged by `core.services.change`."""
from __future__ import annotations

from collections import Counter

from dockerweb.core.errors import AppError, BadRequest
from dockerweb.core.jobs import Heartbeat, job_enqueue, job_finish, job_publish, job_run
from dockerweb.core.services import change, permission_check
from dockerweb.engine import probes as engine_probes
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


def audit_run(*, actor, host: Host, probe: bool = False, refresh: bool = True, parallel: int = 8,
              background: bool = False) -> Audit:
    """Compute the model and findings from the mirror, optionally prove every pair with live
    probes (mismatches become findings), and save it all as an Audit.

    With `background`, the audit is queued (status `queued`) and a worker runs it, pushing its
    progress on `job.audit-<id>`; otherwise it runs here and is returned finished."""
    if probe:
        permission_check(user=actor, action="audit.probe", host=host, target=host.name)
    with change(user=actor, action="audit.run", host=host, target=host.name,
                detail={"probe": probe, "background": background}) as ch:
        # Without an image to probe from, refuse now (409, in words) rather than leave a failed
        # audit behind; the worker then probes from the image chosen here.
        image = engine_probes.probe_image(host) if probe else ""
        if image:
            ch.detail["image"] = image
        audit = Audit.objects.create(
            host=host, created_by=actor if getattr(actor, "is_authenticated", False) else None,
            username=getattr(actor, "username", "") or "", status=Audit.Status.QUEUED, progress=0.0,
            probes={"ran": False, "wanted": probe, "refresh": refresh, "parallel": parallel, "image": image})
        ch.target = f"{host.name} audit #{audit.pk}"
        ch.detail["audit"] = audit.pk
        if background:
            job_enqueue(audit)
            return audit
        audit = audit_execute(audit_id=audit.pk)
        ch.detail.update({"findings": len(audit.findings), "mismatches": audit.mismatch_count})
        return audit


def audit_execute(*, audit_id: int) -> Audit:
    """Do the work of a queued audit (in a worker, or inline), once: the claim (`core.jobs`)
    keeps a second delivery (a redelivery, or a resend from a gone agent's queue) from running
    it again, and the reaper fails it if its worker dies."""
    job_run(Audit, audit_id, execute=_audit_work)
    return Audit.objects.select_related("host").get(pk=audit_id)


def _audit_work(audit: Audit) -> None:
    """The model, its findings and, when asked, probes of every pair; saved."""
    host, opts = audit.host, dict(audit.probes or {})
    job_publish(audit)
    try:
        with Heartbeat(audit):
            if opts.get("refresh", True):
                _refresh(host)
            matrix, findings = selectors.audit_model(host=host)
            probes: dict = {"ran": False}
            if opts.get("wanted"):
                running = [c["id"] for c in matrix["containers"] if c["state"] == "running"]
                pairs = [(s, t) for s in running for t in running if s != t]
                last = [0.0]

                def progress(done: int, total: int) -> None:
                    audit.progress = round(done / total, 3)
                    if audit.progress - last[0] >= 0.05 or done == total:
                        last[0] = audit.progress
                        Audit.objects.filter(pk=audit.pk).update(progress=audit.progress)
                        job_publish(audit)

                probes = probing.probe_pairs(host, matrix, pairs, parallel=int(opts.get("parallel") or 8),
                                             on_done=progress, image=opts.get("image") or None)
                findings = findings + probing.mismatch_findings(probes)
            audit.findings, audit.matrix, audit.probes = findings, matrix, probes
            audit.summary = _summary(matrix, findings, probes)
            audit.save(update_fields=["findings", "matrix", "probes", "summary"])
    except AppError as exc:
        job_finish(audit, status=Audit.Status.FAILED, error=exc.message)
        if _in_worker():
            return
        raise
    except Exception as exc:
        job_finish(audit, status=Audit.Status.FAILED, error=f"Unexpected error: {exc}")
        raise
    job_finish(audit, status=Audit.Status.SUCCEEDED)


def _in_worker() -> bool:
    from celery import current_task

    return bool(current_task and current_task.request and current_task.request.id)


def audit_probe(*, actor, host: Host, source: str = "", target: str = "", network: str = "", parallel: int = 8) -> dict:
    """Probe one pair (both directions) or every pair of a network's containers, now, against
    the current model. Returns the comparison (not saved)."""
    with change(user=actor, action="audit.probe", host=host, target=network or f"{source}->{target}") as ch:
        image = engine_probes.probe_image(host)
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
        result = probing.probe_pairs(host, matrix, pairs, parallel=parallel, image=image)
        result["findings"] = probing.mismatch_findings(result)
        ch.detail.update({"pairs": len(pairs), "mismatches": len(result["mismatches"])})
        return result
