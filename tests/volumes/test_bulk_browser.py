"""Bulk remove of volumes, in a real browser (Chromium against the ASGI server, real engine): the
volumes of a filtered list ticked, the in-page dialog (never window.confirm) saying what will
happen to each before anything is done, then one outcome per volume, and the list's filter kept.
The containers' twin is tests/containers/test_bulk_browser.py."""
import pytest

from dockerweb.core.models import Activity
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMAGE = "dockerweb-test/busybox:latest"
# window.confirm is still callable, but counted: the page must not use it.
COUNT_NATIVE_CONFIRMS = """
window.__nativeConfirms = 0;
window.confirm = function () { window.__nativeConfirms += 1; return true; };
"""


def test_bulk_remove_of_volumes_with_the_filter_kept(asgi_server, page, make_user, host, engine, artifacts_dir):
    from dockerweb.inventory.services import host_reconcile

    batch = {"batch": "v17"}
    free = ["dw-vbulk-1", "dw-vbulk-2", "dw-vbulk-4"]
    for name in free + ["dw-vbulk-3-used"]:
        engine.volumes.create(name, labels=batch)
    anonymous = engine.volumes.create(labels=batch).name  # 64 hex digits, as the engine names it
    assert len(anonymous) == 64
    engine.containers.create(IMAGE, "true", name="dw-vbulk-user", volumes=["dw-vbulk-3-used:/data"])
    engine.volumes.create("dw-vbulk-other", labels={"batch": "other"})
    engine.volumes.create("dw-vkeep-unlabelled")
    host_reconcile(host=host)
    page.add_init_script(COUNT_NATIVE_CONFIRMS)
    native = []
    page.on("dialog", lambda d: (native.append(d.message), d.dismiss()))
    login(page, asgi_server, make_user("operator", username="volume-bulk-operator"))

    listed = asgi_server + "/volumes/?host=local&name=&driver=&label=batch%3Dv17"
    page.goto(listed)
    rows = page.locator("table.volumes tbody tr[data-volume]")
    shown = sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.volume)"))
    assert shown == sorted(free + ["dw-vbulk-3-used", anonymous])

    # Nothing ticked yet: the dialog says so, and offers no way on.
    page.click("#volume-bulk button[value=remove]")
    assert page.inner_text("#confirm-dialog-title") == "Nothing is ticked"
    assert not page.locator("#confirm-dialog-ok").is_visible()
    page.click("#confirm-dialog-cancel")

    # Tick several, one by one (the anonymous one by its row), among them the one in use.
    ticked = free + ["dw-vbulk-3-used", anonymous]
    for name in ticked:
        page.check(f"input[name=volume][form=volume-bulk][value='{name}']")
    assert page.locator("input[name=volume][form=volume-bulk]:checked").count() == 5
    page.click("#volume-bulk button[value=remove]")
    assert page.locator("#confirm-dialog").is_visible()
    assert page.inner_text("#confirm-dialog-title") == "Remove several volumes"
    assert page.inner_text("#confirm-dialog-message") == "Remove the 5 ticked volumes and their data?"
    items = page.locator("#confirm-dialog-items li").all_inner_texts()
    assert len(items) == 5, items
    for name in ticked:
        line = next(t for t in items if t.startswith(name + " "))
        assert line.endswith("in use: will be refused" if name == "dw-vbulk-3-used"
                             else "will be removed, and its data with it"), line
    assert page.evaluate("document.activeElement.id") == "confirm-dialog-cancel"  # the safe answer first
    page.screenshot(path=str(artifacts_dir / "volumes-bulk-summary.png"))
    # Cancel changes nothing; asked again, yes.
    page.click("#confirm-dialog-cancel")
    assert not page.locator("#confirm-dialog").is_visible()
    assert {v.name for v in engine.volumes.list()} >= set(ticked)
    page.click("#volume-bulk button[value=remove]")
    with page.expect_navigation():
        page.click("#confirm-dialog-ok")

    # The same list, same filter; one outcome per volume, the refusal in plain words.
    assert page.url == listed
    assert page.input_value(".filters input[name=label]") == "batch=v17"
    messages = page.locator(".messages li").all_inner_texts()
    assert messages[0] == "Remove: 4 of 5 done, 1 refused.", messages
    assert sorted(m for m in messages[1:] if m.endswith(": removed.")) == sorted(
        f"{name}: removed." for name in free + [anonymous])
    refusal = next(m for m in messages if m.startswith("dw-vbulk-3-used: "))
    assert "in use by dw-vbulk-user" in refusal, refusal
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.volume)") == ["dw-vbulk-3-used"]
    page.screenshot(path=str(artifacts_dir / "volumes-bulk-outcome.png"), full_page=True)

    left = {v.name for v in engine.volumes.list()}
    assert left & set(free + [anonymous]) == set()
    assert {"dw-vbulk-3-used", "dw-vbulk-other", "dw-vkeep-unlabelled"} <= left
    logged = Activity.objects.filter(action="volume.remove", target__in=ticked)
    assert sorted(logged.filter(outcome="ok").values_list("target", flat=True)) == sorted(free + [anonymous])
    assert list(logged.exclude(outcome="ok").values_list("target", "outcome")) == [("dw-vbulk-3-used", "failed")]
    assert page.evaluate("window.__nativeConfirms") == 0 and native == []
