"""The audit API (contract), saved audits, comparison, exports, pages and permissions."""
import pytest

from dockerweb.audit.models import Audit
from dockerweb.core.models import Activity

pytestmark = pytest.mark.django_db


def test_get_audit_follows_the_contract(audit_host, api_as):
    r = api_as("viewer").get("/api/hosts/local/audit/")
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body["findings"], list) and body["findings"]
    for f in body["findings"]:
        assert {"rule", "severity", "subject", "message", "evidence"} <= set(f)
    assert "port_all_interfaces" in {f["rule"] for f in body["findings"]}
    assert {c["name"] for c in body["matrix"]["containers"]} >= {"web", "api", "db", "hostnet"}


def test_unknown_host_is_404_with_a_sentence(db, api_as):
    r = api_as("viewer").get("/api/hosts/nope/audit/")
    assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_viewer_cannot_run_or_probe_and_is_logged(audit_host, api_as):
    c = api_as("viewer")
    r = c.post("/api/hosts/local/audit/", {"probe": False}, format="json")
    assert r.status_code == 403 and "operator" in r.json()["detail"]
    r = c.post("/api/hosts/local/audit/probe/", {"source": "web", "target": "api"}, format="json")
    assert r.status_code == 403
    assert not Audit.objects.exists()
    assert Activity.objects.filter(action="audit.run", outcome=Activity.Outcome.REFUSED).exists()
    assert Activity.objects.filter(action="audit.probe", outcome=Activity.Outcome.REFUSED).exists()


def test_save_compare_and_export(audit_host, api_as, engine, client):
    op = api_as("operator")
    first = op.post("/api/hosts/local/audit/", {"probe": False}, format="json")
    assert first.status_code == 201, first.content
    a = first.json()
    assert a["created_by"] == op.user.username and a["probed"] is False and a["findings"]
    assert Activity.objects.filter(action="audit.run", outcome=Activity.Outcome.OK).exists()
    # Fix one thing, break another: web joins aud-n2 (web and sidecar now reach db), priv goes.
    engine.networks.get("aud-n2").connect("web")
    engine.containers.get("priv").remove(force=True)
    b = op.post("/api/hosts/local/audit/", {}, format="json").json()
    diff = op.get(f"/api/hosts/local/audits/compare/?a={a['id']}&b={b['id']}").json()
    newly = {(p["source"], p["target"]) for p in diff["newly_reachable"]}
    assert {("web", "db"), ("db", "web"), ("sidecar", "db")} <= newly
    assert all(s in ("web", "sidecar") or t in ("web", "sidecar") for s, t in newly)
    assert ("privileged", "container/priv") in {(f["rule"], f["subject"]) for f in diff["fixed_findings"]}
    assert ("bridging_container", "container/web") in {(f["rule"], f["subject"]) for f in diff["new_findings"]}
    assert diff["no_longer_reachable"] == []
    listing = op.get("/api/hosts/local/audits/").json()
    rows = listing["results"] if isinstance(listing, dict) else listing
    assert [r["id"] for r in rows][:2] == [b["id"], a["id"]]
    whole = op.get(f"/api/hosts/local/audits/{a['id']}/").json()
    assert whole["matrix"]["cells"] and whole["findings"] == a["findings"]
    assert op.get("/api/hosts/local/audits/compare/?a=x&b=1").status_code == 400
    assert op.get("/api/hosts/local/audits/99999/").status_code == 404
    # Pages: export, printable, compare.
    client.force_login(op.user)
    r = client.get(f"/audit/{a['id']}/export.json")
    assert r.status_code == 200 and r["Content-Disposition"].endswith(f'audit-local-{a["id"]}.json"')
    assert r.json()["id"] == a["id"]
    r = client.get(f"/audit/{a['id']}/print/")
    html = r.content.decode()
    assert r.status_code == 200 and "Isolation audit #" in html and "CIS 5.13" in html and "web" in html
    r = client.get(f"/audit/compare/?a={a['id']}&b={b['id']}&host=local")
    html = r.content.decode()
    assert r.status_code == 200 and "web → db" in html and "privileged" in html.lower()


def test_probe_input_errors_name_their_field(audit_host, api_as):
    op = api_as("operator")
    r = op.post("/api/hosts/local/audit/probe/", {"source": "web", "target": "ghost"}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "target"
    r = op.post("/api/hosts/local/audit/probe/", {"source": "web", "target": "priv"}, format="json")
    assert r.status_code == 400 and "not running" in r.json()["detail"]
    r = op.post("/api/hosts/local/audit/probe/", {"network": "aud-ov"}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "network"


def test_audit_page_renders_for_a_viewer(audit_host, client, make_user):
    client.force_login(make_user("viewer"))
    r = client.get("/audit/?host=local")
    html = r.content.decode()
    assert r.status_code == 200
    assert 'id="audit-data"' in html and "Who can reach whom" in html and "CIS 5.9" in html
    assert 'id="audit-run-probe"' not in html  # viewers cannot run it


@pytest.mark.django_db(transaction=True)
def test_a_probing_audit_runs_in_a_worker(audit_host, api_as, celery_worker_proc):
    from tests.support.procs import wait_for

    op = api_as("operator")
    r = op.post("/api/hosts/local/audit/", {"probe": True}, format="json")
    assert r.status_code == 202, r.content
    a = r.json()
    assert a["status"] in ("queued", "running")
    done = wait_for(lambda: (lambda x: x if x["status"] in ("succeeded", "failed") else None)(
        op.get(f"/api/hosts/local/audits/{a['id']}/").json()), timeout=180, interval=0.5, message="the audit to finish")
    assert done["status"] == "succeeded", done["error"]
    assert done["progress"] == 1.0 and done["probed"] and done["summary"]["mismatches"] == 0
    assert done["summary"]["probed_pairs"] == 15 * 14
