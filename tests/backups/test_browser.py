"""Start a backup from the volume page in a real browser and watch its progress bar reach 100%."""
import json
import re

import pytest

from tests.support.browser import login

from .conftest import fill_volume

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_backup_from_the_volume_page_shows_live_progress_to_100(celery_worker_proc, asgi_server, page, make_user,
                                                                 host, engine, artifacts_dir):
    from dockerweb.backups.models import Backup
    from dockerweb.inventory.services import volume_sync

    fill_volume(engine, "browser-vol", kib=48 * 1024, small=200)
    # An app that takes its time to stop (it ignores SIGTERM): with consistency "stop" the job is
    # running for ~10 s before the copy, so the page is surely subscribed when progress flows.
    app = engine.containers.run("dockerweb-test/busybox:latest", ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"],
                                name="browser-app", detach=True, network_mode="none",
                                volumes={"browser-vol": {"bind": "/data", "mode": "rw"}})
    volume_sync(host=host, name="browser-vol")
    user = make_user("operator", username="browser-backup")
    progress = []  # job.progress messages the pages received on their websockets

    def on_socket(ws):
        def on_frame(payload):
            try:
                msg = json.loads(payload)
            except (TypeError, ValueError):
                return
            if isinstance(msg, dict) and msg.get("type") == "job.progress":
                progress.append(msg)
        ws.on("framereceived", on_frame)
    page.on("websocket", on_socket)
    login(page, asgi_server, user)
    page.goto(asgi_server + "/volumes/browser-vol/?host=local")
    panel = page.locator("#backups-panel")
    assert "No backups of this volume yet" in panel.inner_text()
    form = panel.locator("[data-testid=volume-backup-form]")  # (the panel may offer snapshots too)
    form.locator("select[name=consistency]").select_option("stop")
    with page.expect_navigation():
        form.locator("button.primary").click()
    assert "/backups/" in page.url
    backup = Backup.objects.get(volume="browser-vol")
    assert page.locator(f'.jobprog[data-job="backup-{backup.pk}"]').count() == 1

    widths, texts = [], []
    page.expose_function("recordWidth", lambda w: widths.append(w))
    page.expose_function("recordText", lambda t: texts.append(t))
    page.evaluate("""() => {
        const fill = document.querySelector('.jobprog .progress > div');
        new MutationObserver(() => window.recordWidth(fill.style.width)).observe(fill, {attributes: true});
        const text = document.querySelector('.jobprog .jobtext');
        new MutationObserver(() => window.recordText(text.textContent)).observe(text, {childList: true, characterData: true, subtree: true});
    }""")
    page.wait_for_function("() => document.querySelector('.jobprog .jobpct').textContent.trim() === '100%'", timeout=90000)
    assert page.evaluate("document.querySelector('.jobprog').dataset.status") == "succeeded"
    # progress arrived over the websocket (job.progress messages), not only from the page load
    assert [m for m in progress if m.get("job") == f"backup-{backup.pk}"]
    assert widths and widths[-1] == "100%"
    # the live text counts the files' own bytes against their total (item 9 of issue 17)
    assert any(re.fullmatch(r"[\d.]+ [KMG]?i?B of [\d.]+ [KMG]?i?B of file data( · .*)?", t) for t in texts), texts
    app.reload()
    assert app.status == "running", "the container stopped for the copy runs again"
    page.wait_for_timeout(400)  # the bar's width transition
    assert page.inner_text('[data-job-status]').strip() == "succeeded"
    page.screenshot(path=str(artifacts_dir / "backup-progress-100.png"), full_page=True)

    # the page reloads itself at the end and shows the archive
    # (while the page reloads, the element is briefly not there)
    page.wait_for_function("() => (document.querySelector('#backup-sha') || {textContent: ''}).textContent.trim().length === 64",
                           timeout=15000)
    page.wait_for_load_state("networkidle")
    backup.refresh_from_db()
    assert backup.status == "succeeded" and backup.sha256 in page.inner_text("main")
    assert page.inner_text(".jobprog .jobpct").strip() == "100%"
    page.screenshot(path=str(artifacts_dir / "backup-detail-done.png"), full_page=True)

    # the volume page lists it
    page.goto(asgi_server + "/volumes/browser-vol/?host=local")
    assert f"#{backup.pk}" in page.locator("#backups-panel").inner_text()
    assert page.locator("#backups-panel .jobpct").first.inner_text().strip() == "100%"


def test_schedule_form_previews_the_next_runs_as_you_type(asgi_server, page, make_user, host, artifacts_dir):
    admin = make_user("admin", username="browser-sched-admin")
    login(page, asgi_server, admin)
    page.goto(asgi_server + "/schedules/")
    page.fill("input[name=cron]", "30 4 * * 1")
    page.wait_for_function("() => document.querySelector('[data-cron-preview]').textContent.includes('04:30')", timeout=10000)
    preview = page.inner_text("[data-cron-preview]")
    assert "Monday" in preview and preview.count("\n") >= 4
    page.fill("input[name=cron]", "99 * * * *")
    page.wait_for_selector("[data-cron-preview].field-error", timeout=10000)
    page.fill("input[name=cron]", "30 4 * * 1")
    page.fill("input[name=volume]", "browser-sched-vol")
    with page.expect_navigation():
        page.click("#schedule-form button.primary")
    assert "browser-sched-vol" in page.inner_text(".schedules-table")
    page.screenshot(path=str(artifacts_dir / "backup-schedules.png"), full_page=True)
    page.goto(asgi_server + "/backups/?host=local")
    page.screenshot(path=str(artifacts_dir / "backup-list.png"), full_page=True)
