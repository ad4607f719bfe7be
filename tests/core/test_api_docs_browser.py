"""The API docs page (Swagger UI, served from our own static files) in a real browser: axe-core
finds no critical and no serious violation in any state a person puts it in — every operation
opened, "Try it out" on all of them, a request sent and its response shown, the Authorize
dialog, the schemas opened — and "Try it out" still works. (tests/core/test_accessibility.py
checks the page as it opens, with every other page.)"""
from __future__ import annotations

import pytest

from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BAD = ("critical", "serious")


def _axe(page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
    return page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: (n.failureSummary || '').slice(0, 300)}))}));
    }""")


def _bad(state: str, violations: list[dict]) -> list[str]:
    return [f"{state}: {v['impact']} {v['id']} ({v['help']}), {len(v['nodes'])} elements, e.g. "
            + "; ".join(f"{n['target']} {n['summary']}" for n in v["nodes"][:2])
            for v in violations if v["impact"] in BAD]


def _click_all(page, selector: str) -> int:
    return page.evaluate("(s) => { const all = document.querySelectorAll(s); all.forEach(b => b.click()); "
                         "return all.length; }", selector)


def test_the_api_docs_pass_axe_in_every_state(asgi_server, page, make_user, host, artifacts_dir, capsys):
    login(page, asgi_server, make_user("admin", username="api-docs-admin"))
    page.goto(asgi_server + "/api/docs/")
    page.wait_for_selector("#swagger-ui .opblock", timeout=30_000)
    operations = page.locator("#swagger-ui .opblock").count()
    assert operations > 50
    # No deep link inside the button that opens an operation (axe: nested-interactive).
    inside = ", ".join(f".opblock-summary-control {s}" for s in ("a[href]", "button", "input", "[tabindex]"))
    assert page.locator(inside).count() == 0
    found = {"opened": _axe(page)}

    assert _click_all(page, ".opblock-summary-control") == operations
    page.wait_for_function("n => document.querySelectorAll('.opblock.is-open .opblock-body').length === n",
                           arg=operations)
    found["every operation open"] = _axe(page)

    tried = _click_all(page, "button.try-out__btn:not(.cancel)")
    assert tried == operations
    page.wait_for_function("n => document.querySelectorAll('button.btn.execute').length === n", arg=operations)
    # What "Try it out" adds is named: lists of choices, request bodies, the upload's file field.
    assert page.locator("tr[data-param-name] select").count() > 5
    assert page.locator("textarea.body-param__text").count() > 5
    assert page.locator("input[type=file]").count() >= 1
    found["try it out on all"] = _axe(page)

    # Send one request: the response (a code block that scrolls) is shown, and is reachable by keyboard.
    block = page.locator("#operations-activity-activity_list")
    block.locator("button.execute").click()
    live = block.locator(".live-responses-table tbody .response-col_status")
    live.first.wait_for(timeout=15_000)
    assert live.first.inner_text().strip().startswith("200"), live.first.inner_text()
    assert block.locator(".live-responses-table pre[tabindex='0']").count() >= 1
    found["a response shown"] = _axe(page)
    page.screenshot(path=str(artifacts_dir / "api-docs-try-it-out.png"))

    page.locator("button.authorize").first.click()
    page.wait_for_selector(".dialog-ux .modal-ux")
    assert page.get_attribute(".dialog-ux button.close-modal", "aria-label") == "Close"
    found["authorize dialog"] = _axe(page)
    page.screenshot(path=str(artifacts_dir / "api-docs-authorize.png"))
    page.click(".dialog-ux button.close-modal")

    # The schemas (listed open): open each one.
    closed = "section.models .model-container > .model-box > .model-box-control[aria-expanded=false]"
    assert _click_all(page, closed) > 20
    page.wait_for_function("s => !document.querySelector(s)", arg=closed)
    found["schemas open"] = _axe(page)

    with capsys.disabled():
        print("\naxe-core on /api/docs/ (elements per impact):")
        for state, violations in found.items():
            counts = {k: sum(len(v["nodes"]) for v in violations if v["impact"] == k)
                      for k in ("critical", "serious", "moderate", "minor")}
            print(f"  {state:22} " + "  ".join(f"{k} {n}" for k, n in counts.items()))
    bad = [line for state, violations in found.items() for line in _bad(state, violations)]
    assert not bad, "\n".join(bad)
