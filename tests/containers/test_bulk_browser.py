"""Bulk actions and the one confirmation dialog, in a real browser (Chromium against the ASGI
server, real engine): five containers removed at once with the list's filter kept, and the
in-page dialog (never window.confirm) before a single remove and a disconnect."""
import pytest

from dockerweb.core.models import Activity
from tests.support.browser import login

from .conftest import IMAGE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# window.confirm is still callable, but counted: the pages must not use it.
COUNT_NATIVE_CONFIRMS = """
window.__nativeConfirms = 0;
window.confirm = function () { window.__nativeConfirms += 1; return true; };
"""


def _reconcile():
    from dockerweb.inventory.selectors import host_get
    from dockerweb.inventory.services import host_reconcile

    host_reconcile(host=host_get(name="local"))


def test_bulk_remove_of_five_containers_with_the_filter_kept(asgi_server, page, make_user, host, engine,
                                                             artifacts_dir):
    batch = [f"dw-bulk-{i}" for i in range(1, 6)]
    for i, name in enumerate(batch):
        if i < 3:
            engine.containers.run(IMAGE, "sleep 300", name=name, detach=True, labels={"batch": "b17"})
        else:
            engine.containers.create(IMAGE, "sleep 300", name=name, labels={"batch": "b17"})
    engine.containers.run(IMAGE, "sleep 300", name="dw-keep-1", detach=True, labels={"batch": "other"})
    engine.containers.create(IMAGE, "true", name="dw-keep-2")
    _reconcile()
    page.add_init_script(COUNT_NATIVE_CONFIRMS)
    native = []
    page.on("dialog", lambda d: (native.append(d.message), d.dismiss()))
    login(page, asgi_server, make_user("operator", username="bulk-operator"))

    listed = asgi_server + "/containers/?host=local&name=&state=&network=&label=batch%3Db17"
    page.goto(listed)
    shown = page.locator("table.containers tbody tr[data-container]")
    assert sorted(shown.evaluate_all("rows => rows.map(r => r.dataset.container)")) == batch

    # Nothing ticked yet: the dialog says so, and offers no way on.
    page.click("#container-bulk button[value=remove]")
    assert page.inner_text("#confirm-dialog-title") == "Nothing is ticked"
    assert not page.locator("#confirm-dialog-ok").is_visible()
    page.click("#confirm-dialog-cancel")

    # Tick all shown (the five), ask for -f, then Remove: the dialog says what will happen to each.
    page.check("input[data-select-all=container-bulk]")
    assert page.locator("input[name=container][form=container-bulk]:checked").count() == 5
    page.check("#container-bulk input[name=force]")
    page.click("#container-bulk button[value=remove]")
    dialog = page.locator("#confirm-dialog")
    assert dialog.is_visible()
    assert page.inner_text("#confirm-dialog-message") == "Remove the 5 ticked containers?"
    items = page.locator("#confirm-dialog-items li").all_inner_texts()
    assert len(items) == 5, items
    for i, name in enumerate(batch):
        line = next(t for t in items if t.startswith(name + " "))
        assert line.endswith("will be stopped and removed (-f)" if i < 3 else "will be removed"), line
    assert page.evaluate("document.activeElement.id") == "confirm-dialog-cancel"  # the safe answer first
    page.screenshot(path=str(artifacts_dir / "containers-bulk-summary.png"))
    assert {c.name for c in engine.containers.list(all=True)} >= set(batch)  # nothing done before "yes"

    with page.expect_navigation():
        page.click("#confirm-dialog-ok")
    # The same list, same filter; one outcome per container.
    assert page.url == listed
    assert page.input_value(".filters input[name=label]") == "batch=b17"
    messages = page.locator(".messages li").all_inner_texts()
    assert messages[0] == "Remove: 5 of 5 done.", messages
    assert sorted(messages[1:]) == [f"{name}: removed." for name in batch], messages
    assert page.locator("table.containers tbody").inner_text().strip() == "No containers match."
    page.screenshot(path=str(artifacts_dir / "containers-bulk-outcome.png"), full_page=True)

    left = {c.name for c in engine.containers.list(all=True)}
    assert left & set(batch) == set() and {"dw-keep-1", "dw-keep-2"} <= left
    logged = Activity.objects.filter(action="container.remove", target__in=batch, outcome="ok")
    assert sorted(logged.values_list("target", flat=True)) == batch
    assert page.evaluate("window.__nativeConfirms") == 0 and native == []


def test_the_confirmation_dialog_for_a_single_remove_and_a_disconnect(asgi_server, page, make_user, host, engine,
                                                                     artifacts_dir):
    net = engine.networks.create("dw-cf-net", driver="bridge")
    engine.containers.run(IMAGE, "sleep 300", name="dw-cf-a", detach=True, network="dw-cf-net")
    engine.containers.create(IMAGE, "true", name="dw-cf-b")
    engine.containers.create(IMAGE, "true", name="dw-other-c")
    _reconcile()
    page.add_init_script(COUNT_NATIVE_CONFIRMS)
    native = []
    page.on("dialog", lambda d: (native.append(d.message), d.dismiss()))
    login(page, asgi_server, make_user("operator", username="confirm-operator"))

    # A single remove from a filtered list: asked in the page's dialog; Cancel and Escape keep it.
    listed = asgi_server + "/containers/?host=local&name=dw-cf"
    page.goto(listed)
    remove = "tr[data-container=dw-cf-b] form.remove-form button"
    page.click(remove)
    assert page.locator("#confirm-dialog").is_visible()
    assert page.inner_text("#confirm-dialog-message") == "Remove container dw-cf-b?"
    assert page.inner_text("#confirm-dialog-ok") == "Remove"
    page.screenshot(path=str(artifacts_dir / "confirm-dialog-remove.png"))
    page.click("#confirm-dialog-cancel")
    assert not page.locator("#confirm-dialog").is_visible()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Remove"  # focus back on the button
    page.click(remove)
    page.keyboard.press("Escape")
    assert not page.locator("#confirm-dialog").is_visible()
    page.wait_for_timeout(300)
    assert "dw-cf-b" in {c.name for c in engine.containers.list(all=True)}  # neither answer removed it
    page.click(remove)
    with page.expect_navigation():
        page.click("#confirm-dialog-ok")
    assert page.url == listed  # the filter is kept for a single remove too
    assert "Container dw-cf-b removed." in page.inner_text(".messages")
    assert "dw-cf-b" not in {c.name for c in engine.containers.list(all=True)}

    # A disconnect from the container's page is asked too (it had no question before).
    page.goto(asgi_server + "/containers/dw-cf-a/?host=local")
    disconnect = "#container-networks tr[data-network='dw-cf-net'] button"
    page.click(disconnect)
    assert page.inner_text("#confirm-dialog-message").startswith("Disconnect dw-cf-a from dw-cf-net?")
    page.screenshot(path=str(artifacts_dir / "confirm-dialog-disconnect.png"))
    page.click("#confirm-dialog-cancel")
    page.wait_for_timeout(300)
    assert "dw-cf-net" in engine.api.inspect_container("dw-cf-a")["NetworkSettings"]["Networks"]
    page.click(disconnect)
    with page.expect_navigation():
        page.click("#confirm-dialog-ok")
    assert "Disconnected dw-cf-a from dw-cf-net." in page.inner_text(".messages")
    assert "dw-cf-net" not in engine.api.inspect_container("dw-cf-a")["NetworkSettings"]["Networks"]
    assert page.evaluate("window.__nativeConfirms") == 0 and native == []
