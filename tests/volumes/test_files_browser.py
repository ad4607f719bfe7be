"""The walkthrough's restore check, in a real browser against the real engine: a file written into
a volume from the console of a container that mounts it is backed up, restored into a new volume, and seen in the
volume's file browser and in the backup's file list; then one file alone is restored."""
from __future__ import annotations

import pytest

from tests.support.browser import login
from tests.support.procs import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMAGE = "dockerweb-test/busybox:latest"


def _ended(model, **filters):
    row = wait_for(lambda: (r := model.objects.filter(**filters).order_by("-id").first()) is not None
                   and r.status in ("succeeded", "failed", "cancelled") and r,
                   timeout=90, interval=0.3, message=f"{model.__name__} {filters} to end")
    assert row.status == "succeeded", row.error
    return row


def test_back_up_restore_and_browse_the_files(celery_worker_proc, asgi_server, page, make_user, host, engine,
                                              artifacts_dir):
    from dockerweb.backups.models import Backup, Restore
    from dockerweb.inventory.services import host_reconcile, volume_sync
    from tests.containers.test_console_browser import open_console, type_line, wait_screen

    engine.volumes.create("dbdata")
    box = engine.containers.run(IMAGE, ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"], name="dbstore",
                                detach=True, network_mode="none", volumes={"dbdata": {"bind": "/dbdata", "mode": "rw"}})
    host_reconcile(host=host)  # made behind dockerweb's back, and no watcher runs here
    login(page, asgi_server, make_user("operator", username="files-browser"))
    # `docker exec -it dbstore sh`, then writing test files into /dbdata: in the page's console
    open_console(page, asgi_server, "dbstore")
    type_line(page, "echo 'this is backup test!' > /dbdata/file1.txt && mkdir /dbdata/logs "
                    "&& echo 'second file' > /dbdata/logs/other.txt && echo written-$((40+2))")
    wait_screen(page, r"written-42")
    assert box.exec_run(["cat", "/dbdata/file1.txt"]).output == b"this is backup test!\n"
    volume_sync(host=host, name="dbdata")

    # the volume's own file browser, before anything else
    page.goto(asgi_server + "/volumes/dbdata/?host=local")
    page.click("[data-testid=files-tab]")
    files = page.locator("[data-testid=files]")
    assert files.locator("tr[data-entry='file1.txt']").count() == 1
    assert files.locator("tr[data-entry='logs'] td").nth(1).inner_text() == "dir"

    # back it up from the volume's page
    page.goto(asgi_server + "/volumes/dbdata/?host=local")
    with page.expect_navigation():
        page.locator("#backups-panel button.primary").click()
    backup = _ended(Backup, volume="dbdata")
    page.goto(asgi_server + f"/backups/{backup.pk}/")
    page.click("[data-testid=files-tab]")
    listing = page.locator("[data-testid=files]")
    assert listing.locator("tr[data-entry='file1.txt']").count() == 1
    listing.locator("tr[data-entry='logs'] a").first.click()
    page.wait_for_url(lambda url: "path=%2Flogs" in url)
    assert page.locator("[data-testid=files] tr[data-entry='other.txt']").count() == 1
    page.screenshot(path=str(artifacts_dir / "backup-files.png"), full_page=True)

    # restore the whole archive into a new volume (the overview's form)
    page.goto(asgi_server + f"/backups/{backup.pk}/")
    page.fill("#restore-form input[name=volume]", "dbstore2")
    with page.expect_navigation():
        page.click("#restore-form button.primary")
    restore = _ended(Restore, volume="dbstore2")
    assert restore.paths == []
    volume_sync(host=host, name="dbstore2")
    # `docker exec -it dbstore2 ls /dbdata`, in the browser: the restored volume's files
    page.goto(asgi_server + "/volumes/dbstore2/?host=local&tab=files")
    restored = page.locator("[data-testid=files]")
    assert restored.locator("tr[data-entry='file1.txt']").count() == 1
    assert restored.locator("tr[data-entry='logs']").count() == 1
    restored.locator("tr[data-entry='file1.txt'] td.name a").click()
    page.wait_for_selector("[data-testid=file-text]")
    assert page.inner_text("[data-testid=file-text]") == "this is backup test!\n"
    page.screenshot(path=str(artifacts_dir / "volume-files-view.png"), full_page=True)

    # restore one file only, from the backup's file list, into another new volume
    page.goto(asgi_server + f"/backups/{backup.pk}/?tab=files")
    page.locator("[data-testid=files] tr[data-entry='file1.txt'] [data-testid=restore-path]").click()
    assert page.inner_text("[data-testid=restore-chosen]") == "/file1.txt"
    form = page.locator("#restore-form")
    assert form.locator("input[name=volume]").input_value() == "dbdata", "by default, back where it came from"
    form.locator("input[name=volume]").fill("dbstore3")
    form.locator("input[name=create]").check()
    with page.expect_navigation():
        form.locator("button.primary").click()
    one = _ended(Restore, volume="dbstore3")
    assert one.paths == ["/file1.txt"]
    assert page.inner_text("[data-testid=restore-paths]").strip() == "/file1.txt"
    volume_sync(host=host, name="dbstore3")
    page.goto(asgi_server + "/volumes/dbstore3/?host=local&tab=files")
    names = page.locator("[data-testid=files] tr[data-entry]").evaluate_all("rows => rows.map(r => r.dataset.entry)")
    assert names == ["file1.txt"], names
    page.screenshot(path=str(artifacts_dir / "volume-files-one.png"), full_page=True)

    # and a viewer sees the tabs but no files
    page.context.clear_cookies()
    login(page, asgi_server, make_user("viewer", username="files-viewer"))
    page.goto(asgi_server + "/volumes/dbstore3/?host=local&tab=files")
    assert "needs the operator role" in page.inner_text("#files-refused")
