"""Door 7: the live websocket accepted any origin whose host was allowed, whatever its port
(`Origin: http://localhost:9999`), so a page served on another port of the same host read the
topology with the victim's session.

The attacks run against a real daphne with a real websocket client and a signed-in session
cookie, and once in a real Chromium from a page served on another port. An origin is let in only
when scheme + host + port equal the site's own (from the Host header, which must be allowed) or
a trusted origin (DOCKERWEB_CSRF_TRUSTED_ORIGINS)."""
from __future__ import annotations

import http.server
import threading
import time

import pytest
import requests

from tests.security.wsclient import handshake, session_cookie
from tests.support import procs
from tests.support.browser import login

pytestmark = pytest.mark.django_db(transaction=True)

TRUSTED = "https://dockerweb.example.org:8443"
TRUSTED_SUBDOMAINS = "https://*.corp.example"


@pytest.fixture(scope="module")
def proxied_server(django_db_setup):
    """A second daphne configured as behind a TLS proxy (DOCKERWEB_SECURE_COOKIES turns on
    SECURE_PROXY_SSL_HEADER) with trusted origins; yields its URL."""
    port = procs.free_port()
    env = procs.child_env(DOCKERWEB_CSRF_TRUSTED_ORIGINS=f"{TRUSTED},{TRUSTED_SUBDOMAINS}",
                          DOCKERWEB_SECURE_COOKIES="1")
    proc = procs.Proc("daphne-proxied", [str(procs.VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                                         "dockerweb.asgi:application"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if not proc.alive():
                raise RuntimeError(f"daphne exited:\n{proc.log_tail()}")
            try:
                requests.get(url + "/healthz", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"daphne did not answer:\n{proc.log_tail()}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.stop()


def subscribed(answer) -> bool:
    return isinstance(answer, dict) and answer.get("type") == "subscribed" and answer.get("hosts") == ["local"]


def test_only_the_sites_own_origin_opens_the_socket(asgi_server, host, make_user):
    cookie = session_cookie(make_user("viewer"))
    port = asgi_server.rsplit(":", 1)[1]
    assert subscribed(handshake(asgi_server, origin=asgi_server, cookie=cookie))
    refused = {
        "other port (the reported attack)": f"http://127.0.0.1:{int(port) + 1}",
        "other port, allowed host name": "http://localhost:9999",
        "other host, same port": f"http://localhost:{port}",
        "other scheme": f"https://127.0.0.1:{port}",
        "foreign site": "http://evil.example",
        "opaque origin": "null",
        "missing origin": None,
    }
    for case, origin in refused.items():
        assert handshake(asgi_server, origin=origin, cookie=cookie) == 403, case
    # DNS rebinding: a foreign name pointed at this machine sends matching Host and Origin; the
    # Host is not an allowed one, so the site's own origin is not that.
    assert handshake(asgi_server, origin=f"http://evil.example:{port}", cookie=cookie,
                     host=f"evil.example:{port}") == 403
    # The Host the browser used decides the site's origin: a browser on localhost:<port> gets in.
    assert subscribed(handshake(asgi_server, origin=f"http://localhost:{port}", cookie=cookie,
                                host=f"localhost:{port}"))


def test_trusted_origins_and_the_tls_proxy(proxied_server, host, make_user):
    cookie = session_cookie(make_user("viewer"))
    port = proxied_server.rsplit(":", 1)[1]
    tls = {"X-Forwarded-Proto": "https"}
    # Trusted origins, exactly: scheme, host and port.
    assert subscribed(handshake(proxied_server, origin=TRUSTED, cookie=cookie))
    assert subscribed(handshake(proxied_server, origin="https://team.corp.example", cookie=cookie))
    for origin in ("https://dockerweb.example.org:9443", "http://dockerweb.example.org:8443",
                   "https://dockerweb.example.org", "https://team.corp.example:8443", "http://team.corp.example",
                   "https://corp.example.evil.example"):
        assert handshake(proxied_server, origin=origin, cookie=cookie) == 403, origin
    # Behind the TLS proxy the site's own origin is https (the proxy says so), never http.
    assert subscribed(handshake(proxied_server, origin=f"https://127.0.0.1:{port}", cookie=cookie, headers=tls))
    assert handshake(proxied_server, origin=f"http://127.0.0.1:{port}", cookie=cookie, headers=tls) == 403
    # Without the proxy's header the request came in plain.
    assert subscribed(handshake(proxied_server, origin=f"http://127.0.0.1:{port}", cookie=cookie))
    assert handshake(proxied_server, origin=f"https://127.0.0.1:{port}", cookie=cookie) == 403


ATTACK_PAGE = """<!doctype html><title>a page on another port</title><script>
  window.result = new Promise(function (resolve) {
    var ws = new WebSocket("%(ws)s");
    ws.onopen = function () { ws.send(JSON.stringify({type: "subscribe", hosts: ["local"]})); };
    ws.onmessage = function (e) { resolve("read: " + e.data); ws.close(); };
    ws.onclose = function (e) { resolve("closed " + e.code); };
  });
</script>"""


def test_a_page_on_another_port_cannot_read_the_topology_in_a_browser(asgi_server, host, make_user, page):
    """The reported attack as it happens: the victim is signed in; a page served on another port
    of the same host opens the socket (the browser sends the session cookie: cookies ignore ports)."""
    login(page, asgi_server, make_user("viewer"))
    ws_url = asgi_server.replace("http://", "ws://") + "/ws/topology/"
    body = (ATTACK_PAGE % {"ws": ws_url}).encode()

    class AttackPage(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AttackPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # The same script on dockerweb's own page reads the topology: the probe works.
        page.goto(asgi_server + "/activity/")
        own = page.evaluate("""(url) => new Promise(function (resolve) {
            var ws = new WebSocket(url);
            ws.onopen = function () { ws.send(JSON.stringify({type: "subscribe", hosts: ["local"]})); };
            ws.onmessage = function (e) { resolve("read: " + e.data); ws.close(); };
            ws.onclose = function (e) { resolve("closed " + e.code); };
        })""", ws_url)
        assert own.startswith("read: ") and '"subscribed"' in own
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        assert page.evaluate("window.result") == "closed 1006"
    finally:
        server.shutdown()
        server.server_close()
