"""Pages of the audit: the live audit with matrix and graph, a saved audit, its printable
page and JSON export, and the comparison of two saved audits. Thin: read, render."""
import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from dockerweb.core.errors import BadRequest
from dockerweb.core.pages import host_page
from dockerweb.core.permissions import may

from . import selectors
from .api.serializers import AuditSerializer


def _page(request, ctx: dict, *, audit=None):
    host = ctx["host"]
    if audit is None:
        matrix, findings = selectors.audit_model(host=host)
        probes = {"ran": False}
    else:
        matrix, findings, probes = audit.matrix, audit.findings, audit.probes
    can_probe = may(request.user, "audit.probe", host)
    # Choosing the image may run a check container: only for those who may probe.
    probe_image = selectors.probe_image_info(host=host) if can_probe else {"image": None, "reason": ""}
    ctx.update({
        "label_keys": sorted({k for c in matrix.get("containers", []) for k in (c.get("labels") or {})})[:40],
        "running_count": sum(1 for c in matrix.get("containers", []) if c.get("state") == "running"),
        "audit": audit, "findings": findings, "matrix": matrix, "probes": probes,
        "history": selectors.audit_list(host=host)[:30],
        "can_run": may(request.user, "audit.run", host), "can_probe": can_probe,
        "probe_image": probe_image,
        "data": {"host": host.name, "audit": audit.pk if audit else None, "status": audit.status if audit else None, "matrix": matrix, "findings": findings,
                 "probes": probes, "can_probe": can_probe,
                 "probe_image": probe_image["image"], "probes_off": probe_image["reason"]},
    })
    return render(request, "audit/index.html", ctx)


@login_required
@host_page
def index(request, ctx):
    return _page(request, ctx)


@login_required
@host_page
def detail(request, ctx, pk: int):
    audit = selectors.audit_get(pk=pk)
    ctx["host"] = audit.host
    return _page(request, ctx, audit=audit)


@login_required
def printable(request, pk: int):
    audit = selectors.audit_get(pk=pk)
    names = {c["id"]: c["name"] for c in audit.matrix.get("containers", [])}
    reachable = sorted(
        ({"source": names.get(c["source"], c["source"][:12]), "target": names.get(c["target"], c["target"][:12]),
          "by_name": c["by_name"], "via": ", ".join(sorted({p.get("network") or p["kind"] for p in c["paths"]}))}
         for c in audit.matrix.get("cells", {}).values() if c["by_ip"]), key=lambda r: (r["source"], r["target"]))
    return render(request, "audit/print.html", {"audit": audit, "reachable": reachable})


@login_required
def export_json(request, pk: int):
    audit = selectors.audit_get(pk=pk)
    body = json.dumps(AuditSerializer(audit).data, indent=2, default=str)
    resp = HttpResponse(body, content_type="application/json")
    resp["Content-Disposition"] = f'attachment; filename="audit-{audit.host.name}-{audit.pk}.json"'
    return resp


@login_required
@host_page
def compare(request, ctx):
    try:
        a, b = int(request.GET.get("a", "")), int(request.GET.get("b", ""))
    except ValueError:
        raise BadRequest("Choose two saved audits to compare.") from None
    before, after = selectors.audit_get(pk=a), selectors.audit_get(pk=b)
    ctx.update({"before": before, "after": after, "diff": selectors.audit_compare(before=before, after=after)})
    return render(request, "audit/compare.html", ctx)
