"""Issue 17, item 7 (must show): the bind allow-list edited by an admin and refused to an
operator, in a real browser against the real engine — an admin adds a folder that exists on the
Settings page and a bind under it is then accepted by the container run API; a folder that does
not exist is refused on its field; an operator gets 403 on the page and cannot change the list."""
import pytest

from dockerweb.core import selectors
from dockerweb.core.models import Activity
from tests.core.test_accessibility import BAD, _axe
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMAGE = "dockerweb-test/busybox:latest"


def test_the_allow_list_edited_by_an_admin_and_refused_to_an_operator(asgi_server, browser, page, make_user, api_as,
                                                                     host, engine, tmp_path, artifacts_dir):
    folder = tmp_path / "team-binds"
    (folder / "site").mkdir(parents=True)
    (folder / "site" / "index.html").write_text("bound from the host\n")
    admin_api = api_as("admin", "settings-api-admin")
    run = {"name": "dw-settings-bind", "image": IMAGE, "command": ["cat", "/site/index.html"],
           "mounts": [{"type": "bind", "source": str(folder / "site"), "target": "/site", "read_only": True}]}
    # Before: outside the list, and the refusal points to the Settings page.
    r = admin_api.post("/api/hosts/local/containers/", run, format="json")
    assert r.status_code == 403 and "Settings page" in r.json()["detail"], r.json()

    admin = make_user("admin", "settings-admin")
    login(page, asgi_server, admin)
    page.goto(asgi_server + "/activity/")
    with page.expect_navigation():
        page.get_by_role("link", name="Settings", exact=True).click()
    assert page.url == asgi_server + "/settings/"
    assert page.locator("h1").inner_text() == "Settings"
    first = selectors.bind_allowlist()[0]
    assert page.locator(f"#bind-root-list tr[data-path='{first}']").is_visible()

    # A folder that does not exist: refused on its field, nothing changed.
    page.fill("#id_path", str(tmp_path / "no-such-folder"))
    with page.expect_navigation():
        page.click("#bind-root-add button.primary")
    err = page.locator("[data-field=path] .field-error")
    assert "There is no folder" in err.inner_text() and err.is_visible()
    assert str(tmp_path / "no-such-folder") not in selectors.bind_allowlist()
    page.screenshot(path=str(artifacts_dir / "settings-missing-folder.png"), full_page=True)

    # The folder that exists: added, listed with who added it.
    page.fill("#id_path", str(folder))
    with page.expect_navigation():
        page.click("#bind-root-add button.primary")
    assert page.url == asgi_server + "/settings/"
    row = page.locator(f"#bind-root-list tr[data-path='{folder}']")
    assert "settings-admin" in row.inner_text() and "exists" in row.inner_text()
    assert f"Added {folder}" in page.locator(".messages").inner_text()
    assert str(folder) in selectors.bind_allowlist() and first in selectors.bind_allowlist()
    violations = [v for v in _axe(page) if v["impact"] in BAD]
    assert not violations, violations
    page.screenshot(path=str(artifacts_dir / "settings-admin.png"), full_page=True)

    # A bind under it is now accepted by the container run API, and the container reads the file.
    r = admin_api.post("/api/hosts/local/containers/", run, format="json")
    assert r.status_code == 201, r.json()
    mounts = engine.containers.get("dw-settings-bind").attrs["Mounts"]
    assert [(m["Type"], m["Source"]) for m in mounts] == [("bind", str(folder / "site"))]
    engine.containers.get("dw-settings-bind").wait(timeout=30)
    assert engine.containers.get("dw-settings-bind").logs() == b"bound from the host\n"

    # An operator: 403 on the page, no link to it, and a change posted anyway is refused and logged.
    operator = make_user("operator", "settings-operator")
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    op_page = context.new_page()
    try:
        login(op_page, asgi_server, operator)
        op_page.goto(asgi_server + "/activity/")
        assert op_page.get_by_role("link", name="Settings", exact=True).count() == 0
        resp = op_page.goto(asgi_server + "/settings/")
        assert resp.status == 403 and "Only admins" in op_page.inner_text("main")
        assert str(folder) not in op_page.content()
        op_page.screenshot(path=str(artifacts_dir / "settings-operator-403.png"), full_page=True)
        op_page.goto(asgi_server + "/activity/")
        statuses = op_page.evaluate("""async ([add, remove]) => {
            const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
            const post = (url, path) => fetch(url, {method: 'POST', body: new URLSearchParams(
                {csrfmiddlewaretoken: token, path})}).then(r => r.status);
            return [await post('/settings/', add), await post('/settings/bind-roots/remove/', remove)];
        }""", [str(tmp_path), str(folder)])
        assert statuses == [403, 403]
    finally:
        context.close()
    assert str(folder) in selectors.bind_allowlist() and str(tmp_path) not in selectors.bind_allowlist()
    refused = Activity.objects.filter(username="settings-operator", outcome="refused")
    assert sorted(refused.values_list("action", flat=True)) == ["settings.bind_root_add", "settings.bind_root_remove"]
    assert Activity.objects.filter(action="settings.bind_root_add", outcome="ok", username="settings-admin").count() == 1
