"""Accessibility of every page, in a real browser with realistic data.

axe-core (the npm package in package.json, served by dockerweb itself from /static/vendor/ like
cytoscape) is injected by Playwright into each page of the navigation, the detail pages and the
forms, built on the real sandbox engine with what makes pages hard: a long network name,
anonymous volumes (64-hex names), 30 running containers with long names, a backup, a restore,
a schedule, saved audits, two repositories (one the other's copy) with a snapshot and a schedule.
Every page must have 0 critical and 0 serious violations; the counts per page and impact are
printed, and each page is saved as a screenshot at 1440 and 1024 px wide (artifacts/a11y/). No
page is exempt, the API docs (Swagger UI) included; the states of that page (operations open,
"Try it out", the Authorize dialog) are checked in test_api_docs_browser.py.

With the same data, on every page (issue 17, items 5 and 6): the long names never make the page
wider than the window, at either width; and no raw id (12 to 64 hex digits) of a container or
network is shown where its name exists (a container sharing another's network namespace is
among them) — only an object's own ID, labelled "ID" on its page, and
the engine's raw inspect output are left out of that look."""
from __future__ import annotations

import json
import re
import shutil
import struct
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from tests.support.browser import login
from tests.support.procs import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True),
              pytest.mark.timeout(600)]

IMAGE = "dockerweb-test/busybox:latest"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
LONG_NET = "a11y-" + "network-with-a-long-name-that-people-really-use-in-compose-projects-" * 2 + "end"
CTR = "a11y-service-with-a-long-descriptive-container-name-{:02d}"
WIDTHS = (1440, 1024)
BAD = ("critical", "serious")


def _ended(model, pk):
    row = wait_for(lambda: (r := model.objects.get(pk=pk)).status in ("succeeded", "failed", "cancelled") and r,
                   timeout=120, interval=0.3, message=f"{model.__name__} {pk} to end")
    assert row.status == "succeeded", row.error
    return row


def _build(engine, host, admin, repo_dir):
    """The data: returns the names and ids the pages are opened with."""
    from dockerweb.audit.services import audit_run
    from dockerweb.backups.models import Backup, Restore
    from dockerweb.backups.schedules import schedule_create
    from dockerweb.backups.services import backup_start, restore_start
    from dockerweb.inventory.services import host_reconcile

    net = engine.networks.create(LONG_NET, driver="bridge", labels={"dockerweb.test": "a11y"})
    anon = [engine.volumes.create() for _ in range(4)]  # no name: the engine gives 64-hex ones
    assert all(len(v.name) == 64 for v in anon)
    ctrs = []
    for i in range(30):
        kw = {}
        if i % 3 == 0:
            kw["network"] = LONG_NET
        elif i % 3 == 1:
            kw["network_mode"] = "none" if i % 2 else "bridge"
        if i < len(anon):
            kw["volumes"] = {anon[i].name: {"bind": "/data", "mode": "rw"}}
        if i in (2, 5):
            kw["ports"] = {"8080/tcp": ("127.0.0.1", None)}
        ctrs.append(engine.containers.run(IMAGE, ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"],
                                          name=CTR.format(i), detach=True, labels={"dockerweb.test": "a11y"}, **kw))
    ctrs[0].exec_run(["sh", "-c", "mkdir -p /data/logs && echo 'hello from the volume' > /data/readme.txt && "
                                  "echo second > /data/logs/other.txt && touch /data/$(printf 'long-%0100d' 0).txt"])
    ctrs[-1].stop(timeout=1)  # one exited container
    # `--network container:<id>`: the engine keeps the id; the pages must show the name.
    engine.containers.run(IMAGE, ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"], name="a11y-sidecar",
                          detach=True, network_mode=f"container:{ctrs[0].id}", labels={"dockerweb.test": "a11y"})
    host_reconcile(host=host)

    backup = backup_start(actor=admin, host=host, volume=anon[0].name)
    backup = _ended(Backup, backup.pk)
    restore = restore_start(actor=admin, backup=backup, host=host, volume="a11y-restored", create=True)
    restore = _ended(Restore, restore.pk)
    host_reconcile(host=host)
    schedule = schedule_create(actor=admin, host=host, volume=anon[1].name, cron="15 2 * * *", keep_last=3,
                               compression="zstd", consistency="none", enabled=True)
    audits = [audit_run(actor=admin, host=host) for _ in range(3)]
    # A repository with a copy, a snapshot of the volume with files in it, and a schedule into it.
    from dockerweb.repositories.services import repository_create

    copy = repository_create(actor=admin, name="a11y-offsite-copy", kind="local", location=str(repo_dir / "copy"),
                             password="a11y repository password")
    repo = repository_create(actor=admin, name="a11y-repository-with-a-long-name", kind="local",
                             location=str(repo_dir / "main"), password="a11y repository password", copy_to=copy)
    snap = _ended(Backup, backup_start(actor=admin, host=host, volume=anon[0].name, repository=repo).pk)
    schedule_create(actor=admin, host=host, volume=anon[2].name, cron="0 * * * *", keep_last=0, keep_hourly=24,
                    keep_monthly=6, repository=repo, consistency="none", enabled=True)
    return {"net": net.id, "vol": anon[0].name, "ctr": CTR.format(0), "backup": backup.pk, "restore": restore.pk,
            "schedule": schedule.pk, "audit": audits[-1].pk, "audit_a": audits[0].pk, "repo": repo.pk,
            "snapshot": snap.snapshot, "snapshot_job": snap.pk}


def _pages(d, admin_pk, other_pk):
    """(name, url, a selector to wait for before axe runs: what the page's script draws)."""
    v, c = d["vol"], d["ctr"]
    return [
        ("topology", "/topology/?host=local", "#topo-graph canvas"),
        ("networks", "/networks/?host=local", None),
        ("network-detail", f"/networks/{d['net']}/?host=local", None),
        ("network-create", "/networks/new/?host=local", None),
        ("network-prune", "/networks/prune/?host=local", None),
        ("containers", "/containers/?host=local", None),
        ("container-detail", f"/containers/{c}/?host=local", None),
        ("container-shared", "/containers/a11y-sidecar/?host=local", None),
        ("container-run", "/containers/run/?host=local", "#docker-run-line"),
        ("container-console", f"/containers/{c}/console/?host=local", None),
        ("container-logs", f"/containers/{c}/logs/?host=local", None),
        ("volumes", "/volumes/?host=local", None),
        ("volume-detail", f"/volumes/{v}/?host=local", None),
        ("volume-files", f"/volumes/{v}/?host=local&tab=files", None),
        ("volume-file-view", f"/volumes/{v}/?host=local&tab=files&view=%2Freadme.txt", None),
        ("volume-create", "/volumes/new/?host=local", None),
        ("volume-prune", "/volumes/prune/?host=local", None),
        ("backups", "/backups/?host=local", None),
        ("backup-detail", f"/backups/{d['backup']}/", None),
        ("backup-files", f"/backups/{d['backup']}/?tab=files", None),
        ("restore-detail", f"/restores/{d['restore']}/", None),
        ("schedules", "/schedules/?host=local", None),
        ("schedule-edit", f"/schedules/{d['schedule']}/", None),
        ("repositories", "/repositories/", None),
        ("repository-detail", f"/repositories/{d['repo']}/", None),
        ("snapshot-files", f"/repositories/{d['repo']}/snapshots/{d['snapshot']}/?path=%2Flogs", None),
        ("snapshot-job", f"/backups/{d['snapshot_job']}/", None),
        ("audit", "/audit/?host=local", "#matrix-table"),
        ("audit-saved", f"/audit/{d['audit']}/?host=local", "#matrix-table"),
        ("audit-compare", f"/audit/compare/?host=local&a={d['audit_a']}&b={d['audit']}", None),
        ("audit-print", f"/audit/{d['audit']}/print/", None),
        ("activity", "/activity/", None),
        ("hosts", "/hosts/", None),
        ("users", "/users/", None),
        ("user-edit", f"/users/{other_pk}/", None),
        ("settings", "/settings/", None),
        ("api-docs", "/api/docs/", "#swagger-ui .opblock"),
    ]


def _axe(page) -> list[dict]:
    """The violations axe finds on the page as it stands (all its rules, best practices included)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Fetched from dockerweb's own static files: the page's CSP (script-src 'self') allows it.
        page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
    return page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 160),
                                      summary: (n.failureSummary || '').slice(0, 300)}))}));
    }""")


# An id, whole or shortened (the engine's 12 digits, or fewer before an ellipsis: "24f9bffa…").
HEX = re.compile(r"[0-9a-f]{8,64}")
# The page's text as shown (no script data), less what is an id by its nature: an object's own
# ID, labelled "ID" (on its page, or the ID column of a list, as `docker network ls` has), and the
# engine's raw inspect output (`docker network inspect` as the engine answers).
PAGE_TEXT = """() => {
  const copy = (document.querySelector('main') || document.body).cloneNode(true);
  copy.querySelectorAll('script, template, style, pre.inspect').forEach(e => e.remove());
  copy.querySelectorAll('dt').forEach(dt => {
    if (dt.textContent.trim() === 'ID' && dt.nextElementSibling) dt.nextElementSibling.remove();
  });
  copy.querySelectorAll('table').forEach(t => {
    const heads = [...t.querySelectorAll('thead th')];
    const col = heads.findIndex(th => th.textContent.trim().toUpperCase() === 'ID');
    if (col >= 0) t.querySelectorAll('tbody tr').forEach(tr => { if (tr.children[col]) tr.children[col].remove(); });
  });
  copy.querySelectorAll('*').forEach(e => e.append(' '));  // words of adjacent elements stay apart
  return copy.textContent;
}"""


def _ids_shown(text: str, ids: dict[str, str]) -> list[str]:
    """The names of the objects whose id (or an id prefix of 8+ digits) appears in `text`."""
    return sorted({name for run in HEX.findall(text) for name, full in ids.items() if full.startswith(run)})


def _png_width(path: Path) -> int:
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">I", head[16:20])[0]


def _open(page, base, url, ready):
    resp = page.goto(base + url)
    assert resp is not None and resp.status == 200, f"{url}: {resp and resp.status}"
    page.wait_for_load_state("load")
    if ready:
        page.wait_for_selector(ready, state="attached", timeout=30_000)


def test_every_page_has_no_critical_or_serious_violation(celery_worker_proc, asgi_server, browser, make_user, host,
                                                         engine, artifacts_dir, capsys, settings, request):
    assert AXE.exists(), "axe-core is missing from node_modules: run scripts/setup.sh"
    admin = make_user("admin", username="a11y-admin-with-a-rather-long-user-name")
    other = make_user("operator", username="operator-" + "x" * 60)
    repo_dir = Path(tempfile.mkdtemp(prefix="a11y-", dir=settings.REPOSITORY_ROOTS[0]))
    request.addfinalizer(lambda: shutil.rmtree(repo_dir, ignore_errors=True))
    data = _build(engine, host, admin, repo_dir)
    shots = artifacts_dir / "a11y"
    shots.mkdir(exist_ok=True)

    ids = {c.name: c.id for c in engine.containers.list(all=True)}
    ids.update({n.name: n.id for n in engine.networks.list()})

    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900}, timezone_id="Europe/Berlin")
    page = context.new_page()
    results, wide, raw_ids = {}, {}, {}

    def look(name, url, ready, width):
        page.set_viewport_size({"width": width, "height": 900})
        _open(page, asgi_server, url, ready)
        results[(name, width)] = _axe(page)
        doc = page.evaluate("() => document.documentElement.scrollWidth")
        if doc > width:
            wide[f"{name}@{width}"] = doc
        if width == WIDTHS[0]:
            shown = _ids_shown(page.evaluate(PAGE_TEXT), ids)
            if shown:
                raw_ids[name] = shown
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)

    try:
        # the sign-in page, before signing in
        for width in WIDTHS:
            look("login", "/login/", None, width)
        login(page, asgi_server, admin)
        for name, url, ready in _pages(data, admin.pk, other.pk):
            for width in WIDTHS:
                look(name, url, ready, width)
    finally:
        context.close()

    lines, bad = [], []
    for (name, width), violations in results.items():
        counts = Counter()
        for v in violations:
            counts[v["impact"]] += len(v["nodes"])
            if v["impact"] in BAD:
                bad.append(f"{name}@{width}: {v['impact']} {v['id']} ({v['help']}) on "
                           + "; ".join(f"{n['target']} {n['summary']}" for n in v["nodes"][:3]))
        lines.append(f"{name:18} {width:5}  " + "  ".join(f"{k} {counts[k]}" for k in
                                                          ("critical", "serious", "moderate", "minor")))
    report = "axe-core violations (elements) per page:\n" + "\n".join(lines)
    (shots / "axe.txt").write_text(report + "\n")
    (shots / "axe.json").write_text(json.dumps({f"{n}@{w}": v for (n, w), v in results.items()}, indent=1))
    with capsys.disabled():
        print("\n" + report)
    assert len(results) == 2 * (1 + len(_pages(data, admin.pk, other.pk)))
    assert not bad, "\n".join(bad)
    # Every page saved at both widths, as wide as the window (a page wider than it would show).
    shot_widths = {f"{name}@{width}": _png_width(shots / f"{name}-{width}.png") for name, width in results}
    assert wide == {} and all(w == int(k.rsplit("@", 1)[1]) for k, w in shot_widths.items()), (
        f"pages wider than the window (scrollWidth): {wide}; screenshots: "
        f"{ {k: w for k, w in shot_widths.items() if w != int(k.rsplit('@', 1)[1])} }")
    assert raw_ids == {}, f"raw ids shown where the name exists (page: objects): {raw_ids}"
