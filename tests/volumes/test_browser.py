"""Volume pages in a real browser: create through the form, see it in use, preview a prune."""
import pytest

from tests.support.browser import login

IMAGE = "dockerweb-test/busybox:latest"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_a_volume_and_preview_a_prune(asgi_server, page, make_user, host, engine, artifacts_dir):
    from dockerweb.inventory.services import host_reconcile

    user = make_user("operator", username="browser-volumes")
    engine.containers.run(IMAGE, "sleep 300", name="dw-vol-user", detach=True, volumes=["dw-used:/data", "/anon"])
    host_reconcile(host=host)
    login(page, asgi_server, user)
    page.goto(asgi_server + "/volumes/?host=local")
    page.click("text=Create volume")
    page.fill("input[name=name]", "dw-from-browser")
    page.fill("textarea[name=labels]", "owner=ops")
    page.click("#volume-form button.primary")
    page.wait_for_url("**/volumes/dw-from-browser/**")
    assert "owner=ops" in page.inner_text("main") and "No container uses this volume" in page.inner_text("#used-by")
    page.goto(asgi_server + "/volumes/?host=local&sizes=1")
    used = page.locator("tr[data-volume='dw-used']").inner_text()
    assert "dw-vol-user" in used and "/data" in used
    assert page.locator("tr:has(span.badge:text('anonymous'))").count() == 1
    page.screenshot(path=str(artifacts_dir / "volume-list.png"), full_page=True)
    page.goto(asgi_server + "/volumes/prune/?host=local")
    preview = page.inner_text("#prune-preview")
    assert "dw-from-browser" in preview and "dw-used" not in preview
    page.screenshot(path=str(artifacts_dir / "volume-prune.png"), full_page=True)
    page.goto(asgi_server + "/volumes/dw-used/?host=local")
    assert "dw-vol-user" in page.inner_text("#used-by")
    page.screenshot(path=str(artifacts_dir / "volume-detail.png"), full_page=True)


def test_the_create_form_shows_its_docker_volume_create_line_live(asgi_server, page, make_user, host, engine,
                                                                  artifacts_dir):
    """Issue 17, item 9: the volume form's command line follows what is typed (it was a fixed
    template), quoted as a shell needs it, and is what the form then does."""
    login(page, asgi_server, make_user("operator", username="browser-volume-preview"))
    page.goto(asgi_server + "/volumes/new/?host=local")
    line = page.locator("#volume-cli")
    assert line.inner_text() == "docker volume create"  # no name: the engine names it
    page.fill("input[name=name]", "dw-vol-preview")
    assert line.inner_text() == "docker volume create dw-vol-preview"
    page.fill("textarea[name=driver_opts]", "type=tmpfs\ndevice=tmpfs\no=size=8m,uid=1000")
    page.fill("textarea[name=labels]", "owner=ops team\ntier\nnote=it's ours")
    expected = ("docker volume create -o type=tmpfs -o device=tmpfs -o o=size=8m,uid=1000 "
                "--label 'owner=ops team' --label tier --label 'note=it'\"'\"'s ours' dw-vol-preview")
    assert line.inner_text() == expected
    page.fill("input[name=driver]", "my driver")
    assert line.inner_text().startswith("docker volume create --driver 'my driver' -o type=tmpfs")
    page.fill("input[name=driver]", "local")
    assert line.inner_text() == expected
    page.screenshot(path=str(artifacts_dir / "volume-create-preview.png"))

    with page.expect_navigation():
        page.click("#volume-form button.primary")
    assert "/volumes/dw-vol-preview/" in page.url, page.inner_text("main")
    made = engine.api.inspect_volume("dw-vol-preview")
    assert made["Driver"] == "local"
    assert made["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=8m,uid=1000"}
    assert made["Labels"] == {"owner": "ops team", "tier": "", "note": "it's ours"}
