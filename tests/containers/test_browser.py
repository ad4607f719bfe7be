"""The run form in a real browser (headless Chromium against daphne)."""
import pytest

from tests.support.browser import login

from .conftest import HELLO, HTTPD, netns_get_retry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_run_a_container_with_a_port_and_a_volume_through_the_form(asgi_server, page, make_user, host, engine,
                                                                   artifacts_dir):
    user = make_user("operator", username="browser-operator")
    login(page, asgi_server, user)
    page.goto(asgi_server + "/containers/?host=local")
    page.click("text=Run a container")
    page.wait_for_url("**/containers/run/**")
    page.click("button.chip[data-image='dockerweb-test/busybox:latest']")
    assert page.input_value("input[name=image]") == "dockerweb-test/busybox:latest"
    page.fill("input[name=name]", "dw-browser-web")
    page.fill("input[name=command]", HTTPD)
    page.fill("textarea[name=ports]", "127.0.0.1:18282:80")
    page.fill("textarea[name=volumes]", "dw-browser-data:/data")
    page.fill("textarea[name=labels]", "made.by=browser")
    line = page.inner_text("#docker-run-line")
    assert line == ("docker run -d --name dw-browser-web -p 127.0.0.1:18282:80 -v dw-browser-data:/data "
                    "--label made.by=browser dockerweb-test/busybox:latest httpd -f -p 80 -h /var/www"), line
    page.screenshot(path=str(artifacts_dir / "container-run-form.png"))
    with page.expect_navigation():
        page.click("#run-form button.primary")
    page.screenshot(path=str(artifacts_dir / "container-after-run.png"), full_page=True)
    assert "/containers/dw-browser-web/" in page.url, page.inner_text("main")
    assert "running" in page.inner_text("h1").lower()
    assert "18282" in page.inner_text("#ports") and "dw-browser-data" in page.inner_text("#mounts")
    page.screenshot(path=str(artifacts_dir / "container-detail.png"), full_page=True)

    page.goto(asgi_server + "/containers/?host=local")
    row = page.locator("tr[data-container='dw-browser-web']")
    text = row.inner_text()
    assert "dockerweb-test/busybox:latest" in text and "127.0.0.1:18282->80/tcp" in text and "dw-browser-data:/data" in text
    page.screenshot(path=str(artifacts_dir / "container-list.png"), full_page=True)
    # And it really serves on the published port.
    assert netns_get_retry(18282).strip() == HELLO
    c = engine.containers.get("dw-browser-web")
    assert c.attrs["Config"]["Labels"] == {"made.by": "browser"}


def test_form_shows_a_refusal_on_the_page(asgi_server, page, make_user, host, engine):
    user = make_user("operator", username="browser-operator-2")
    login(page, asgi_server, user)
    page.goto(asgi_server + "/containers/run/?host=local")
    page.fill("input[name=image]", "dockerweb-test/busybox:latest")
    page.fill("textarea[name=volumes]", "/etc:/host-etc")
    page.click("#run-form button.primary")
    assert "Refused:" in page.inner_text("body") and "admins only" in page.inner_text("body")
    assert "-v /etc:/host-etc" in page.inner_text("#docker-run-line")
