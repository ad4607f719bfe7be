"""Issue 17, item 1: a run form failing on fields far down the page shows every error at once,
scrolls to the first one and says how many there are (real Chromium, real engine)."""
import pytest

from tests.support.browser import login

from .conftest import IMAGE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _in_viewport(page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not rendered"
    size = page.viewport_size
    return {"box": box, "inside": box["y"] >= 0 and box["y"] + box["height"] <= size["height"]
            and box["x"] >= 0 and box["x"] + box["width"] <= size["width"]}


def test_all_field_errors_are_shown_the_first_in_sight_with_a_count(asgi_server, page, make_user, host, engine,
                                                                   artifacts_dir):
    before = {c.name for c in engine.containers.list(all=True)}
    user = make_user("operator", username="form-errors-operator")
    login(page, asgi_server, user)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(asgi_server + "/containers/run/?host=local")
    page.fill("input[name=image]", IMAGE)
    page.fill("input[name=name]", "dw-form-errors")
    page.select_option("select[name=network]", "host")
    page.fill("input[name=ipv4_address]", "10.9.8.7")
    page.fill("textarea[name=ports]", "127.0.0.1:18383:80")
    page.fill("textarea[name=environment]", "=no-key")
    # Press Run from the bottom of the page, as a person would.
    with page.expect_navigation():
        page.click("#run-form button.primary")

    banner = page.locator("[data-form-errors]")
    assert banner.count() == 1
    text = banner.inner_text()
    assert "3 problems in this form" in text, text
    for label in ("IPv4 address (--ip)", "Published ports (-p)", "Environment (-e)"):
        assert label in text, text

    # Every error is on its own field, all at once.
    errors = {f: page.locator(f".field[data-field={f}] .field-error").all_inner_texts()
              for f in ("ipv4_address", "ports", "environment")}
    assert all(errors.values()), errors
    assert "user-defined network" in errors["ipv4_address"][0]
    assert "network mode 'host'" in errors["ports"][0]

    # The first field in error and the banner are inside the viewport (the page was scrolled).
    page.screenshot(path=str(artifacts_dir / "container-run-errors-viewport.png"))  # the viewport only
    first = _in_viewport(page, ".field.has-error")
    assert first["inside"], first
    assert page.evaluate("window.scrollY") > 0
    assert _in_viewport(page, "[data-form-errors]")["inside"]
    assert page.evaluate("document.activeElement && document.activeElement.name") == "ipv4_address"

    # What was typed is kept, and nothing was created.
    assert page.input_value("textarea[name=ports]") == "127.0.0.1:18383:80"
    assert {c.name for c in engine.containers.list(all=True)} == before


def test_the_api_reports_every_field_too(run, host):
    r = run(network="host", ipv4_address="10.9.8.7", ports=["127.0.0.1:18384:80"], environment=["=x"])
    assert r.status_code == 400, r.content
    body = r.json()
    assert body["field"] == "ipv4_address" and body["detail"] == body["errors"]["ipv4_address"][0]
    assert set(body["errors"]) == {"ipv4_address", "ports", "environment"}, body
    assert body["count"] == 3


def test_one_mistake_is_reported_as_before(run, host):
    r = run(network="host", ports=["127.0.0.1:18385:80"])
    assert r.status_code == 400
    body = r.json()
    assert body["field"] == "ports" and body["errors"] == {"ports": [body["detail"]]} and "count" not in body
