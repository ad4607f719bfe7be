"""Issue 17, item 9: exact wording and details, in a real browser against the real engine —
singulars, "URL", times with their zone, an import that claims no consistency, a restore page
that links its volume, commands shown with their quotes, and a favicon on every page."""
import pytest
from django.utils import timezone

from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMAGE = "dockerweb-test/busybox:latest"


@pytest.fixture
def jobs(host, engine):
    """An imported backup of one file and a restore of it into a volume of the host (rows as the
    backups services leave them when done; their pages are what is judged here)."""
    from dockerweb.backups.models import Backup, Restore

    engine.volumes.create("ux-restored")
    now = timezone.now()
    backup = Backup.objects.create(host=host, host_name=host.name, volume="ux-import", origin=Backup.Origin.IMPORT,
                                   status="succeeded", progress=1.0, bytes_done=6, bytes_total=6, size=2560,
                                   file_count=1, compression="none", path="imported/x.tar", started=now, finished=now)
    restore = Restore.objects.create(backup=backup, host=host, host_name=host.name, volume="ux-restored",
                                     status="succeeded", progress=1.0, file_count=1, started=now, finished=now)
    return backup, restore


def test_wording_and_details(asgi_server, page, make_user, host, engine, jobs, artifacts_dir):
    backup, restore = jobs
    engine.containers.run(IMAGE, ["sh", "-c", "echo hello > /tmp/x; sleep 300"], name="ux-quoted", detach=True)
    from dockerweb.inventory.services import host_reconcile

    host_reconcile(host=host)
    admin = make_user("admin", username="wording-admin")
    login(page, asgi_server, admin)

    # One member, not "1 members"; an import does not claim a consistency mode it never had.
    page.goto(f"{asgi_server}/backups/{backup.pk}/")
    main = page.inner_text("main")
    assert "1 member " in main or "1 member\n" in main or "1 member ·" in main, main
    assert "1 members" not in main
    assert "copy while containers run" not in main and "imported from a file" in main, main
    # Its six bytes of file data, not its 2.5 KiB archive (headers, padding, end blocks).
    assert page.inner_text(".jobprog .jobtext").strip() == "6 B of 6 B of file data"
    page.screenshot(path=str(artifacts_dir / "wording-import.png"), full_page=True)
    page.goto(f"{asgi_server}/backups/")
    assert "1 members" not in page.inner_text("main") and "1 member" in page.inner_text("main")

    # The restore page links the volume it restored into.
    from django.urls import reverse

    page.goto(asgi_server + reverse("backups:restore", args=[restore.pk]))
    link = page.locator("#restore-target")
    assert link.inner_text() == "ux-restored"
    with page.expect_navigation():
        link.click()
    assert "/volumes/ux-restored/" in page.url and "ux-restored" in page.inner_text("h1")

    # Times carry their zone (the browser's: Europe/Berlin in these tests).
    page.goto(asgi_server + "/containers/ux-quoted/?host=local")
    times = page.locator("main time").all_inner_texts()
    assert times and all(t.rsplit(" ", 1)[-1] in ("CET", "CEST") for t in times), times
    # The command as a shell needs it typed: quotes kept.
    assert "sh -c 'echo hello > /tmp/x; sleep 300'" in page.inner_text("main")

    # "URL", not "Url".
    page.goto(asgi_server + "/hosts/")
    labels = page.locator("main label").all_inner_texts()
    assert "URL" in labels and "Url" not in labels, labels

    # A favicon on every page: linked, and /favicon.ico answers (no 404 in any page's log).
    href = page.get_attribute("link[rel=icon]", "href")
    assert page.request.get(asgi_server + href).status == 200
    r = page.request.get(asgi_server + "/favicon.ico")
    assert r.status == 200 and r.headers["content-type"].startswith("image/svg"), r.status
    failed = []
    page.on("response", lambda resp: failed.append(resp.url) if resp.status >= 400 else None)
    for path in ("/", "/networks/", "/containers/", "/volumes/", "/backups/"):
        page.goto(asgi_server + path)
    assert failed == [], failed
