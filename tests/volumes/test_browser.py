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
