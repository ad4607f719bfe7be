"""Pages in a real browser (headless Chromium against daphne)."""
import pytest

from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_page_renders_and_signs_in(asgi_server, page, make_user, host, artifacts_dir):
    user = make_user("operator")
    page.goto(asgi_server + "/networks/")
    assert page.url.startswith(asgi_server + "/login/")
    assert page.locator("input[name=username]").is_visible()
    page.screenshot(path=str(artifacts_dir / "login.png"))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "wrong password")
    page.click("button.primary")
    assert "Please enter a correct username and password" in page.locator(".error").inner_text()
    login(page, asgi_server, user)
    page.goto(asgi_server + "/networks/")
    assert page.locator("h1").first.inner_text().startswith("Networks")
    nav = page.locator("nav.mainnav a").all_inner_texts()
    assert nav == ["Topology", "Networks", "Containers", "Volumes", "Backups", "Schedules", "Repositories", "Audit", "Activity", "Hosts"]
    assert page.locator("td", has_text="bridge").first.is_visible()
    page.screenshot(path=str(artifacts_dir / "networks.png"), full_page=True)


def test_activity_page_shows_refusals(asgi_server, page, make_user, host):
    from dockerweb.core.services import activity_record

    user = make_user("viewer")
    activity_record(user=user, action="network.create", outcome="refused", host=host, target="blocked-net",
                    detail={"message": "You need the operator role to do this (network.create)."})
    login(page, asgi_server, user)
    page.goto(asgi_server + "/activity/?outcome=refused")
    row = page.locator("table tbody tr").first
    assert "blocked-net" in row.inner_text() and "refused" in row.inner_text()
