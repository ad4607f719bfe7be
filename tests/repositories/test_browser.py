"""Repositories in a real browser (Chromium against daphne, the real Celery worker, restic and a
volume of the sandbox engine): an admin adds a local repository from the page (a bad location
first, refused at its field), snapshots a volume from the volume's page, finds the snapshot on the
repository's page and browses its files; an operator gets the list without the forms, and checks.
Screenshots at 1440 and 1024 px wide."""
from __future__ import annotations

import pytest

from tests.support.browser import login
from tests.support.procs import wait_for

from .conftest import PASSWORD, fill_volume

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = "() => document.documentElement.scrollWidth"


def _shots(page, artifacts_dir, name):
    """The page at 1440 and 1024 px wide (full height), and how wide it got at 1024."""
    widths = {}
    for width in (1440, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)  # app.js re-measures the top menu after a resize
        page.screenshot(path=str(artifacts_dir / f"repositories-{name}-{width}.png"), full_page=True)
        widths[width] = page.evaluate(WIDTH)
    page.set_viewport_size({"width": 1440, "height": 900})
    assert widths[1024] <= 1024, (name, widths)


def test_an_admin_adds_a_repository_snapshots_a_volume_and_browses_it(celery_worker_proc, asgi_server, page,
                                                                      make_user, host, engine, repo_dir,
                                                                      artifacts_dir):
    from dockerweb.backups.models import Backup
    from dockerweb.inventory.services import volume_sync
    from dockerweb.repositories.models import Repository

    fill_volume(engine, "dw-ui-snap-vol", kib=256, small=12)
    volume_sync(host=host, name="dw-ui-snap-vol")
    login(page, asgi_server, make_user("admin", "ui-repo-admin"))
    page.goto(asgi_server + "/volumes/?host=local")
    page.click("nav.mainnav >> text=Repositories")
    page.wait_for_url("**/repositories/")
    assert "No repository yet" in page.inner_text(".repositories-table")

    form = page.locator("#repository-create form")
    key, pinned = form.locator("[data-field=ssh_key]"), form.locator("[data-field=known_host]")
    assert key.is_hidden() and pinned.is_hidden()  # a local repository takes no key
    form.locator("select[name=kind]").select_option("sftp")
    assert key.is_visible() and pinned.is_visible()
    _shots(page, artifacts_dir, "create-sftp")
    form.locator("select[name=kind]").select_option("local")
    assert key.is_hidden() and pinned.is_hidden()

    # A location that is no absolute folder: refused at its field, the cursor put there.
    form.locator("input[name=name]").fill("ui-repo")
    form.locator("input[name=location]").fill("backups/ui-repo")
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button.primary").click()
    location = page.locator("#repository-create [data-field=location]")
    assert "has-error" in location.get_attribute("class")
    assert location.locator(".field-error").inner_text().startswith("A local repository is an absolute folder")
    assert "1 problem in this form" in page.inner_text("[data-form-errors]")
    assert page.evaluate("document.activeElement.name") == "location"
    assert page.input_value("#repository-create input[name=name]") == "ui-repo"  # what was typed stays
    assert not Repository.objects.exists()
    _shots(page, artifacts_dir, "create-error")

    page.fill("#repository-create input[name=location]", str(repo_dir / "ui-repo"))
    page.fill("#repository-create input[name=password]", PASSWORD)  # a password is never sent back
    with page.expect_navigation():
        page.click("#repository-create button.primary")
    repo = Repository.objects.get(name="ui-repo")
    assert page.url.endswith(f"/repositories/{repo.pk}/")
    assert "Repository ui-repo is ready" in page.inner_text(".messages")
    assert "No snapshots yet" in page.inner_text(".snapshots-table")
    assert (repo_dir / "ui-repo" / "config").exists()

    # The volume's page: "Snapshot into a repository" starts the job and shows its page.
    page.goto(asgi_server + "/volumes/dw-ui-snap-vol/?host=local")
    panel = page.locator("#snapshot-panel")
    panel.locator("select[name=repository]").select_option(label="ui-repo")
    panel.locator("select[name=consistency]").select_option("pause")
    _shots(page, artifacts_dir, "volume-panel")
    with page.expect_navigation():
        panel.locator("button", has_text="Snapshot now").click()
    job = Backup.objects.get(volume="dw-ui-snap-vol")
    assert page.url.endswith(f"/backups/{job.pk}/") and job.repository_id == repo.pk and job.consistency == "pause"
    # The page reloads itself when the job ends, and then names the snapshot.
    page.wait_for_function("() => /^[0-9a-f]{8,}$/.test((document.querySelector('#snapshot-id code') || "
                           "{textContent: ''}).textContent.trim())", timeout=90_000)
    page.wait_for_load_state("load")
    job.refresh_from_db()
    assert job.status == "succeeded" and page.inner_text("#snapshot-id code") == job.snapshot
    main = page.inner_text("main")
    assert "ui-repo" in page.inner_text("#snapshot-repository") and "Size added" in main
    for absent in ("Download", "SHA-256", "Compression", "Manifest"):
        assert absent not in main, absent
    assert page.locator("[data-testid=files-tab]").count() == 0 and page.locator("#restore-form").count() == 0
    _shots(page, artifacts_dir, "job")

    # The backups list tells it apart.
    page.goto(asgi_server + "/backups/?host=local")
    assert "snapshot" in page.inner_text(f"tr[data-backup='{job.pk}'] .badge.snapshot")

    # The repository's page lists it; its files are browsed like an archive's.
    page.goto(asgi_server + f"/backups/{job.pk}/")
    with page.expect_navigation():
        page.click("#snapshot-repository a")
    row = page.locator(f"tr[data-snapshot='{job.snapshot}']")
    assert "dw-ui-snap-vol" in row.inner_text() and "local" in row.inner_text()
    assert page.locator("tr[data-snapshot]").count() == 1
    _shots(page, artifacts_dir, "detail")
    with page.expect_navigation():
        row.locator("[data-testid=browse]").click()
    files = page.locator("[data-testid=files]")
    assert files.locator("tr[data-entry='file1.txt'][data-type=file]").count() == 1
    assert files.locator("tr[data-entry='name with spaces.txt']").count() == 1
    with page.expect_navigation():
        files.locator("tr[data-entry=sub] a").click()
    assert page.inner_text("[data-testid=crumbs]").replace("\n", "") == "/sub"
    secret = page.locator("[data-testid=files] tr[data-entry='secret.key']")
    assert "0600" in secret.inner_text() and "1234:5678" in secret.inner_text()
    with page.expect_navigation():
        page.click("[data-testid=files] tr[data-entry=deeper] a")
    assert page.locator("[data-testid=files] tr[data-entry='random.bin']").inner_text().count("256.0 KiB") == 1
    _shots(page, artifacts_dir, "files")
    with page.expect_navigation():
        page.locator("[data-testid=crumbs] a").first.click()  # the root
    assert page.locator("[data-testid=files] tr[data-entry=sub]").count() == 1

    # The list: its status, and the last check not made yet.
    page.goto(asgi_server + "/repositories/")
    listed = page.locator("tr[data-repository='ui-repo']")
    assert "ok" in listed.locator(".badge").first.inner_text() and "never" in listed.inner_text()
    _shots(page, artifacts_dir, "list")


def test_an_operator_reads_repositories_without_their_forms_and_checks_one(celery_worker_proc, asgi_server, page,
                                                                          make_user, host, repo_dir, artifacts_dir):
    from dockerweb.repositories.services import repository_create

    repo = repository_create(actor=make_user("admin", "ui-repo-maker"), name="ui-checked", kind="local",
                             location=str(repo_dir / "checked"), password=PASSWORD)
    login(page, asgi_server, make_user("operator", "ui-repo-operator"))
    page.goto(asgi_server + "/repositories/")
    assert page.locator("#repository-create").count() == 0 and page.locator("form.repo-form").count() == 0
    assert "Only admins add or change repositories" in page.inner_text("main")
    row = page.locator("tr[data-repository='ui-checked']")
    assert "never" in row.locator("[data-testid=last-check]").inner_text()
    with page.expect_navigation():
        row.locator("button", has_text="Check").click()
    assert "Check of ui-checked started" in page.inner_text(".messages")

    def checked():
        page.reload()
        text = page.locator("tr[data-repository='ui-checked'] [data-testid=last-check]").inner_text()
        return "passed" in text and text
    wait_for(checked, timeout=60, interval=1, message="the check's result on the list")
    _shots(page, artifacts_dir, "list-operator")
    with page.expect_navigation():
        page.click("tr[data-repository='ui-checked'] a >> text=ui-checked")
    assert page.url.endswith(f"/repositories/{repo.pk}/")
    assert "No errors were found." in page.inner_text("[data-testid=last-check]")
    assert page.locator("#repository-edit").count() == 0 and page.locator("#repository-delete").count() == 0
