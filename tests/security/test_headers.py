"""Door 13 (half): no Content-Security-Policy, so any injected markup could run script.

In a real Chromium against a real daphne, signed in as an admin: every page of the navigation
(and the pages they lead to) loads with the policy and breaks none of it — no violation event, no
console complaint — while their scripts still work (the live graph connects, exports download,
confirmations ask, the host switch switches). Then the attack: script injected into a page, as
an element and as an on*= attribute, does not run (and does run on a page without the policy, so
the check can fail). The other usual headers are there too."""
from __future__ import annotations

import pytest
from django.urls import reverse

from dockerweb.core.context_processors import NAV
from tests.support.browser import login, wait_for_graph

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMAGE = "dockerweb-test/busybox:latest"

# Recorded in every document before its own scripts run (Playwright's init scripts are not
# subject to the page's policy).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " +
                              e.sourceFile + ":" + e.lineNumber + " " + (e.sample || ""));
});
"""

INJECT = """() => new Promise(function (resolve) {
  var s = document.createElement("script");
  s.textContent = "window.__injected = 'element';";
  document.body.appendChild(s);
  var d = document.createElement("div");
  d.innerHTML = '<img src="/static/no-such-image.png" onerror="window.__injectedAttr = \\'attribute\\'">' +
                '<p id="inj-style" style="color: rgb(1, 2, 3)">x</p>';
  document.body.appendChild(d);
  setTimeout(function () {
    resolve([window.__injected || null, window.__injectedAttr || null,
             getComputedStyle(document.getElementById("inj-style")).color]);
  }, 500);
})"""

DIRECTIVES = ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
              "connect-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'",
              "object-src 'none'"]


def assert_headers(response, url: str) -> None:
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    for directive in DIRECTIVES:
        assert directive in csp, (url, directive, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, url
    assert headers.get("cross-origin-opener-policy") == "same-origin", url
    assert headers.get("x-content-type-options") == "nosniff", url
    assert headers.get("referrer-policy") == "same-origin", url
    assert headers.get("x-frame-options") == "DENY", url
    policy = headers.get("permissions-policy", "")
    for feature in ("camera=()", "microphone=()", "geolocation=()", "usb=()", "payment=()"):
        assert feature in policy, (url, policy)


@pytest.fixture
def site(host, engine, engine_url):
    """Something on every page: a container on a user network with a published port and a
    volume, a second host (so the host switch shows)."""
    from dockerweb.inventory.services import host_reconcile, host_register

    engine.networks.create("dw-csp-net", driver="bridge")
    engine.volumes.create("dw-csp-vol")
    engine.volumes.create("dw-csp-spare")
    engine.containers.run(IMAGE, ["sleep", "600"], name="dw-csp-ctr", detach=True, network="dw-csp-net",
                          volumes={"dw-csp-vol": {"bind": "/data", "mode": "rw"}}, ports={"80/tcp": ("127.0.0.1", None)})
    host_reconcile(host=host)
    second = host_register(name="second", url=engine_url)
    host_reconcile(host=second)
    return host


def test_every_page_loads_under_the_policy_without_a_violation(asgi_server, site, engine, make_user, page):
    complaints = []
    page.on("console", lambda m: complaints.append(f"{m.type}: {m.text}")
            if any(w in m.text for w in ("Content Security Policy", "Content-Security-Policy", "Permissions-Policy",
                                          "Refused to")) else None)
    page.add_init_script(RECORD_VIOLATIONS)

    def visit(url: str, ready=None, status: int = 200) -> None:
        response = page.goto(asgi_server + url)
        assert response.status == status, (url, response.status)
        assert_headers(response, url)
        if ready:
            ready()
        page.wait_for_timeout(300)
        assert page.evaluate("window.__cspViolations") == [], url

    assert_headers(page.goto(asgi_server + "/login/"), "/login/")
    login(page, asgi_server, make_user("admin", "boss"))

    def topology_ready():
        wait_for_graph(page)
        page.wait_for_selector("#topo-live[data-state=on]", timeout=15000)  # the websocket connects under connect-src 'self'

    readiness = {reverse("topology:graph"): topology_ready,
                 reverse("audit:index"): lambda: page.wait_for_function(
                     "() => !/Loading/.test(document.getElementById('matrix').textContent)", timeout=15000)}
    nav = [reverse(name) for _, name in NAV]
    others = [reverse("core:users"), "/networks/dw-csp-net/", "/networks/new/", "/networks/prune/",
              "/containers/dw-csp-ctr/", "/containers/run/", "/volumes/dw-csp-vol/", "/volumes/new/",
              "/volumes/prune/", "/"]
    for url in nav + others:
        visit(url, readiness.get(url))
    visit(reverse("api-docs"), lambda: page.wait_for_selector("#swagger-ui .opblock", timeout=20000))
    visit("/no-such-page/", status=404)  # the error page

    # The topology's exports (canvas → blob URL download) work under img-src/blob.
    visit(reverse("topology:graph"), topology_ready)
    for action, suffix in (("png", ".png"), ("svg", ".svg")):
        with page.expect_download() as download:
            page.click(f".topo-actions button[data-action={action}]")
        assert download.value.suggested_filename.endswith(suffix)
    # Enter in the filter panel does not submit it (data-nosubmit replaces onsubmit="return false").
    page.fill("#topo-filters input[name=q]", "dw-csp-ctr")
    page.press("#topo-filters input[name=q]", "Enter")
    page.wait_for_timeout(300)
    assert page.url == asgi_server + reverse("topology:graph")
    assert page.evaluate("window.__cspViolations") == []
    assert complaints == [], sorted(set(complaints))


def test_confirmations_and_the_host_switch_still_work(asgi_server, site, engine, make_user, page):
    """The inline handlers became data-confirm / data-autosubmit (static/js/app.js, confirm.js)."""
    page.add_init_script(RECORD_VIOLATIONS)
    login(page, asgi_server, make_user("admin", "boss"))
    page.goto(asgi_server + "/volumes/dw-csp-spare/?host=local")
    native = []
    page.on("dialog", lambda d: (native.append(d.message), d.dismiss()))

    page.click("form.danger-zone button.danger")
    assert page.locator("#confirm-dialog").is_visible()
    assert page.inner_text("#confirm-dialog-message") == "Remove volume dw-csp-spare and its data?"
    page.click("#confirm-dialog-cancel")
    page.wait_for_timeout(300)
    assert not page.locator("#confirm-dialog").is_visible()
    assert "dw-csp-spare" in [v.name for v in engine.volumes.list()]  # "no" removed nothing
    page.click("form.danger-zone button.danger")
    page.click("#confirm-dialog-ok")
    page.wait_for_url(lambda url: "/volumes/dw-csp-spare/" not in url)
    assert "dw-csp-spare" not in [v.name for v in engine.volumes.list()]
    assert native == []  # no window.confirm any more

    page.goto(asgi_server + "/networks/?host=local")
    page.select_option("form.hostswitch select[name=host]", "second")
    page.wait_for_url("**/networks/?host=second")
    assert page.evaluate("window.__cspViolations") == []


def test_injected_script_does_not_run(asgi_server, site, make_user, page):
    page.add_init_script(RECORD_VIOLATIONS)
    # Without the policy the same injection runs: the probe can fail.
    page.set_content("<!doctype html><html><body><p>no policy</p></body></html>")
    assert page.evaluate(INJECT) == ["element", "attribute", "rgb(1, 2, 3)"]

    login(page, asgi_server, make_user("viewer"))
    page.goto(asgi_server + "/activity/")
    injected, injected_attr, color = page.evaluate(INJECT)
    assert injected is None and injected_attr is None
    assert color != "rgb(1, 2, 3)"
    violations = " | ".join(page.evaluate("window.__cspViolations"))
    assert "script-src-elem" in violations and "script-src-attr" in violations and "style-src-attr" in violations

    # Framing by another page is refused too (frame-ancestors 'none' and X-Frame-Options).
    page.goto("about:blank")
    page.set_content(f'<iframe id="f" src="{asgi_server}/activity/"></iframe>')
    page.wait_for_timeout(1000)
    # Chromium replaces a refused frame with its error page (a loaded one would keep our URL).
    framed = [f for f in page.frames if f != page.main_frame]
    assert len(framed) == 1 and framed[0].url.startswith("chrome-error://"), [f.url for f in framed]
    assert page.frame_locator("#f").locator("header.topbar").count() == 0
