"""The console in a real browser (headless Chromium, the page's own CSP) against the real engine:
the walkthrough's steps inside containers, typed into xterm.js.

- on a user-defined network, `ping -c 1 <other container>` resolves the name and gets a reply;
  on the default bridge the name does not resolve; `ip addr` shows the fixed IP;
- colours, paste, resizing with the window, and the full-screen programs `top` and `vi`;
- closing the page ends the shell; the quick action "Show addresses" on the container page."""
from __future__ import annotations

import re

import docker
import pytest

from tests.containers.conftest import IMAGE
from tests.containers.test_exec_api import INIT, live_commands
from tests.support import procs
from tests.support.browser import login, wait_for_graph

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scene(engine, host):
    """cw-one (fixed IP 172.31.7.10) and cw-two on the user-defined network cw-app; cw-lone and
    cw-other on the default bridge."""
    from dockerweb.inventory.services import host_reconcile

    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="172.31.7.0/24", gateway="172.31.7.1")])
    engine.networks.create("cw-app", driver="bridge", ipam=ipam)
    api = engine.api
    for name, ip in (("cw-one", "172.31.7.10"), ("cw-two", None)):
        nc = api.create_networking_config({"cw-app": api.create_endpoint_config(ipv4_address=ip)})
        created = api.create_container(IMAGE, INIT, name=name, networking_config=nc,
                                       host_config=api.create_host_config(network_mode="cw-app"))
        api.start(created["Id"])
    for name in ("cw-lone", "cw-other"):
        engine.containers.run(IMAGE, INIT, name=name, detach=True)
    host_reconcile(host=host)
    return engine


def screen(page) -> str:
    """What the terminal shows (its rows, as text)."""
    return page.inner_text("#console-term .xterm-rows")


def wait_screen(page, pattern: str, timeout: float = 15000) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function("([p]) => new RegExp(p).test(document.querySelector('#console-term .xterm-rows').innerText)",
                               arg=[pattern], timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(f"the terminal never showed /{pattern}/; it shows:\n{screen(page)}") from None


def open_console(page, base: str, name: str) -> None:
    page.goto(f"{base}/containers/{name}/?host=local")
    page.click("#open-console")
    page.wait_for_url(f"**/containers/{name}/console/**")
    page.click("#console-connect")
    wait_screen(page, r"/ # ")
    assert "Connected" in page.inner_text("#console-status")


def type_line(page, text: str) -> None:
    page.click("#console-term")
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def test_the_walkthrough_inside_the_containers(asgi_server, page, scene, make_user, artifacts_dir):
    login(page, asgi_server, make_user("operator"))
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    open_console(page, asgi_server, "cw-one")
    csp = page.evaluate("() => fetch(location.href).then(r => r.headers.get('content-security-policy'))")
    assert "style-src 'self'" in csp and "unsafe-inline" not in csp  # the page's own, strict policy

    type_line(page, "ping -c 1 -W 2 cw-two")
    wait_screen(page, r"1 packets received")
    assert re.search(r"PING cw-two \(172\.31\.7\.\d+\)", screen(page)), screen(page)
    type_line(page, "ip addr")
    wait_screen(page, r"inet 172\.31\.7\.10/24")
    page.screenshot(path=str(artifacts_dir / "console-user-network.png"))

    # On the default bridge names do not resolve.
    open_console(page, asgi_server, "cw-lone")
    type_line(page, "ping -c 1 -W 2 cw-other")
    wait_screen(page, r"bad address 'cw-other'")
    page.screenshot(path=str(artifacts_dir / "console-default-bridge.png"))
    # Only xterm's own <style> elements were refused (and mirrored); no script, nothing else.
    assert all("style" in v for v in violations), violations


def test_colours_paste_resize_and_full_screen_programs(asgi_server, page, scene, make_user, artifacts_dir):
    login(page, asgi_server, make_user("operator"))
    open_console(page, asgi_server, "cw-one")

    # Colours: the theme's red, from the stylesheet that stood in for xterm's refused <style>.
    type_line(page, r"printf '\033[31mRED\033[0m plain\n'")
    wait_screen(page, r"RED plain")
    colours = page.evaluate("""() => {
      const red = [...document.querySelectorAll('#console-term .xterm-rows span')].find(s => s.textContent === 'RED');
      const rows = document.querySelector('#console-term .xterm-rows');
      return [red && red.className, red && getComputedStyle(red).color, getComputedStyle(rows).color];
    }""")
    assert "xterm-fg-1" in colours[0], colours
    assert colours[1] != colours[2] and colours[1] not in ("rgb(0, 0, 0)", ""), colours  # red, not the text colour

    # Paste (a real paste event, as the browser sends it): one line, run on its own newline.
    page.evaluate("""() => {
      const dt = new DataTransfer(); dt.setData('text/plain', 'echo pasted-$((40+2))\\n');
      document.querySelector('#console-term textarea').dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
    }""")
    wait_screen(page, r"\npasted-42")

    # The TTY follows the window.
    type_line(page, "stty size")
    wait_screen(page, r"\n\d+ \d+\n")
    before = re.findall(r"\n(\d+) (\d+)\n", screen(page))[-1]
    page.set_viewport_size({"width": 900, "height": 600})
    page.wait_for_timeout(300)
    type_line(page, "clear; stty size")
    page.wait_for_function("([b]) => { const m = document.querySelector('#console-term .xterm-rows').innerText.match(/(\\d+) (\\d+)\\n/); "
                           "return m && (m[1] + ' ' + m[2]) !== b; }", arg=[" ".join(before)], timeout=10000)
    after = re.findall(r"(\d+) (\d+)\n", screen(page))[-1]
    assert int(after[1]) < int(before[1]) and int(after[0]) < int(before[0]), (before, after)

    # Full-screen programs: top draws its screen and quits on q; vi edits a file.
    type_line(page, "top")
    wait_screen(page, r"Load average")
    page.screenshot(path=str(artifacts_dir / "console-top.png"))
    page.keyboard.press("q")
    type_line(page, "clear")
    # Only the prompt left on the screen: clear has run. (Typed earlier, a line is lost — the
    # shell flushes type-ahead when it takes the terminal back, as in any terminal.)
    page.wait_for_function("() => document.querySelector('#console-term .xterm-rows').innerText.trim() === '/ #'",
                           timeout=15000)
    type_line(page, "vi /tmp/note")
    wait_screen(page, r"\n~")  # vi's empty lines: vi has the terminal
    page.keyboard.type("iwritten in vi")
    page.keyboard.press("Escape")
    # vi tells a lone Escape from the start of an escape sequence by a pause after it, as a person makes.
    page.wait_for_timeout(300)
    page.keyboard.type(":wq")
    page.keyboard.press("Enter")
    type_line(page, "cat /tmp/note")
    wait_screen(page, r"\nwritten in vi")
    assert scene.containers.get("cw-one").exec_run(["cat", "/tmp/note"]).output == b"written in vi\n"


def test_closing_the_page_ends_the_shell(asgi_server, browser, scene, make_user):
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    try:
        login(page, asgi_server, make_user("operator"))
        open_console(page, asgi_server, "cw-two")
        type_line(page, "sleep 7777")
        procs.wait_for(lambda: any("7777" in c for c in live_commands(scene, "cw-two")), timeout=10,
                       message="the session's command to run")
        page.close()
    finally:
        context.close()
    procs.wait_for(lambda: not [c for c in live_commands(scene, "cw-two") if "7777" in c or c == "sh"], timeout=15,
                   interval=0.2, message="the shell to end with the page")


def test_show_addresses_on_the_container_page(asgi_server, page, scene, make_user):
    login(page, asgi_server, make_user("operator"))
    page.goto(f"{asgi_server}/containers/cw-one/?host=local")
    page.click("#show-addresses")
    page.wait_for_selector("#addresses-out:not([hidden])")
    page.wait_for_function("() => /exit code 0/.test(document.getElementById('addresses-out').textContent)")
    assert "inet 172.31.7.10/24" in page.inner_text("#addresses-out")


def test_viewers_get_no_console(asgi_server, page, scene, make_user):
    login(page, asgi_server, make_user("viewer"))
    page.goto(f"{asgi_server}/containers/cw-one/?host=local")
    assert page.locator("#open-console").count() == 0 and page.locator("#show-addresses").count() == 0
    page.goto(f"{asgi_server}/containers/cw-one/console/?host=local")
    assert "operator role" in page.inner_text("#console-refused")


def test_ping_a_peer_from_the_audits_pair_view(asgi_server, page, scene, make_user):
    one, two = (scene.containers.get(n).id for n in ("cw-one", "cw-two"))
    login(page, asgi_server, make_user("operator"))
    page.goto(asgi_server + "/audit/?host=local")
    page.locator(f'td[data-pair="{one}>{two}"]').click()
    buttons = page.locator("#path-info button.ping-pair")
    assert buttons.all_inner_texts()[0] == "Ping cw-two from cw-one (by name)"
    buttons.first.click()
    page.wait_for_function("() => /exit code/.test(document.getElementById('ping-out').textContent)", timeout=20000)
    out = page.inner_text("#ping-out")
    assert "PING cw-two (172.31.7." in out and "1 packets received" in out and "exit code 0" in out, out


def test_ping_a_neighbour_from_the_topology_details(asgi_server, page, scene, make_user):
    one, lone = (scene.containers.get(n).id for n in ("cw-one", "cw-lone"))
    other_ip = scene.containers.get("cw-other").attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    login(page, asgi_server, make_user("operator"))
    page.goto(asgi_server + "/topology/?host=local")
    wait_for_graph(page)
    page.evaluate(f"window.dwTopologyPage.graph.get('local', 'ctr:{one}').emit('tap')")
    button = page.locator("#topo-details button.topo-ping")
    assert button.all_inner_texts() == ["Ping cw-two from here (by name on cw-app)"]
    button.click()
    page.wait_for_function("() => /exit code/.test(document.getElementById('topo-ping-out').textContent)", timeout=20000)
    assert "1 packets received" in page.inner_text("#topo-ping-out")
    # On the default bridge by IP (names do not resolve there).
    page.evaluate(f"window.dwTopologyPage.graph.get('local', 'ctr:{lone}').emit('tap')")
    assert page.locator("#topo-details button.topo-ping").all_inner_texts() == [
        "Ping cw-other from here (by IP on bridge)"]
    page.click("#topo-details button.topo-ping")
    page.wait_for_function("() => /exit code/.test(document.getElementById('topo-ping-out').textContent)", timeout=20000)
    out = page.inner_text("#topo-ping-out")
    assert f"PING {other_ip}" in out and "1 packets received" in out, out
