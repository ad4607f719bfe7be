"""Helpers for browser tests."""


def login(page, base_url: str, user) -> None:
    """Sign `user` in through the login form (the user must be committed: transactional test).

    Waits for the redirect away from the login page, not for network idle: the home page is the
    live topology graph, whose websocket and resyncs keep the network busy."""
    page.goto(base_url + "/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", user.test_password)
    page.click("button.primary")
    page.wait_for_url(lambda url: "/login/" not in url, timeout=15000)
    page.wait_for_load_state("domcontentloaded")


def wait_for_graph(page, timeout: int = 30000) -> None:
    """Wait until the topology page shows its graph: the line of counts under the filters is
    filled in, and the page's `ready` (settled at the graph's first paint) has settled."""
    page.wait_for_function("() => window.dwTopologyPage && document.getElementById('topo-stats').textContent !== ''",
                           timeout=timeout)
    page.evaluate("() => window.dwTopologyPage.ready")
