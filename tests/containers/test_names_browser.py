"""Issue 17, item 6: names where a name exists — `container:<name>` for a shared network
namespace on the list and the container's page, and the network's name in connect messages
(real Chromium, real engine). No raw id (64 hex digits, or its 12-digit prefix) of an object
that has a name is shown in those pages' text."""
import re

import pytest

from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEX = re.compile(r"[0-9a-f]{12,64}")


def _ids_shown(text: str, ids: dict[str, str]) -> list[str]:
    """The names of the objects whose id (or an id prefix of 12+ digits) appears in `text`."""
    return sorted({name for run in HEX.findall(text) for name, full in ids.items() if full.startswith(run)})


def _sync(host):
    from dockerweb.inventory.services import host_reconcile

    host_reconcile(host=host)


def test_names_not_ids_on_the_container_pages(asgi_server, page, make_user, host, engine, run, artifacts_dir):
    assert run(name="ux-c0", command="sleep 300").status_code == 201
    assert run(name="ux-c1", command="sleep 300", network="container:ux-c0").status_code == 201
    assert run(name="ux-c2", command="sleep 300").status_code == 201
    net = engine.networks.create("ux-net", driver="bridge")
    _sync(host)
    ids = {c.name: c.id for c in engine.containers.list(all=True)}
    ids.update({n.name: n.id for n in engine.networks.list()})
    assert engine.containers.get("ux-c1").attrs["HostConfig"]["NetworkMode"] == f"container:{ids['ux-c0']}"

    user = make_user("operator", username="names-operator")
    login(page, asgi_server, user)

    # The list: container:<name>, no ids.
    page.goto(asgi_server + "/containers/?host=local")
    row = page.locator("tr[data-container='ux-c1']").inner_text()
    assert "container:ux-c0" in row, row
    main = page.inner_text("main")
    page.screenshot(path=str(artifacts_dir / "names-container-list.png"), full_page=True)
    assert _ids_shown(main, ids) == [], main

    # The sharing container's page: the mode by name, in the facts and in the Networks panel.
    page.goto(asgi_server + "/containers/ux-c1/?host=local")
    main = page.inner_text("main")
    assert "container:ux-c0" in page.inner_text("#container-networks")
    own_id = page.locator("dl.kv dd").first.inner_text()
    assert own_id == ids["ux-c1"]  # the page's own ID row is the one id shown, labelled as such
    assert _ids_shown(main.replace(own_id, ""), ids) == [], main
    page.screenshot(path=str(artifacts_dir / "names-container-detail.png"), full_page=True)

    # Connect from the container's page (its choices carry network ids): the message names the network.
    page.goto(asgi_server + "/containers/ux-c2/?host=local")
    page.select_option("#container-connect select[name=network]", value=net.id)  # shown as "ux-net · subnet"
    with page.expect_navigation():
        page.click("#container-connect button.primary")
    messages = page.inner_text(".messages")
    assert "Connected ux-c2 to ux-net." in messages, messages
    main = page.inner_text("main")
    assert _ids_shown(main.replace(ids["ux-c2"], ""), ids) == [], main
    # ... and disconnect says from which network, by name.
    page.click("#container-networks tr[data-network='ux-net'] button")
    with page.expect_navigation():
        page.click("#confirm-dialog-ok")  # the page's confirmation dialog
    messages = page.inner_text(".messages")
    assert "Disconnected ux-c2 from ux-net." in messages, messages
    assert net.id not in page.inner_text("main")
