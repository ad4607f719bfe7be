"""The network pages in a real browser (headless Chromium against daphne)."""
import pytest
from docker.types import IPAMConfig, IPAMPool

from dockerweb.inventory.services import container_sync
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_network_through_the_form(asgi_server, page, make_user, host, engine, artifacts_dir):
    engine.networks.create("dw-taken", ipam=IPAMConfig(pool_configs=[IPAMPool(subnet="10.47.0.0/24")]))
    user = make_user("operator")
    login(page, asgi_server, user)
    page.goto(asgi_server + "/networks/?host=local")
    page.click("text=New network")
    page.wait_for_selector("#network-create")

    page.fill("input[name=name]", "dw-web")
    # macvlan shows its parent field and hides the bridge options, in the form and in the command
    page.select_option("select[name=driver]", "macvlan")
    page.fill("input[name=parent]", "eth0.10")
    assert not page.locator("[data-field=mtu]").is_visible()
    assert page.locator("#cli-preview").inner_text() == "docker network create --driver macvlan -o parent=eth0.10 dw-web"
    page.select_option("select[name=driver]", "bridge")
    page.fill("input[name=subnet]", "10.47.0.0/16")
    page.fill("input[name=gateway]", "10.47.0.1")
    page.check("input[name=internal]")
    page.fill("input[name=mtu]", "1400")
    page.select_option("select[name=enable_icc]", "false")
    page.fill("textarea[name=labels]", "team=ops")
    # macvlan's parent field only shows for macvlan
    assert not page.locator("[data-field=parent]").is_visible()
    expected = ("docker network create --subnet 10.47.0.0/16 --gateway 10.47.0.1 --internal "
                "-o com.docker.network.bridge.enable_icc=false -o com.docker.network.driver.mtu=1400 "
                "--label team=ops dw-web")
    assert page.locator("#cli-preview").inner_text() == expected
    page.screenshot(path=str(artifacts_dir / "network-create-form.png"), full_page=True)

    page.click("#network-create button.primary")
    page.wait_for_load_state("networkidle")
    error = page.locator("[data-field=subnet] .field-error")
    assert "overlaps 10.47.0.0/24 of network 'dw-taken'" in error.inner_text()
    assert page.locator("input[name=name]").input_value() == "dw-web"  # the form kept what was typed
    page.screenshot(path=str(artifacts_dir / "network-create-overlap.png"), full_page=True)
    assert "dw-web" not in {n.name for n in engine.networks.list()}

    page.fill("input[name=subnet]", "10.48.0.0/24")
    page.fill("input[name=gateway]", "10.48.0.1")
    assert "--subnet 10.48.0.0/24 --gateway 10.48.0.1" in page.locator("#cli-preview").inner_text()
    page.click("#network-create button.primary")
    page.wait_for_load_state("networkidle")
    assert "/networks/" in page.url and "/new/" not in page.url
    row = page.locator("tr[data-network=dw-web]")
    assert row.is_visible() and "10.48.0.0/24" in row.inner_text() and "internal" in row.inner_text()
    assert "Network dw-web created" in page.locator(".messages").inner_text()
    page.screenshot(path=str(artifacts_dir / "network-created-list.png"), full_page=True)
    a = engine.networks.get("dw-web").attrs
    assert a["Internal"] is True and a["Labels"] == {"team": "ops"}
    assert a["Options"] == {"com.docker.network.bridge.enable_icc": "false", "com.docker.network.driver.mtu": "1400"}
    assert a["IPAM"]["Config"] == [{"Subnet": "10.48.0.0/24", "Gateway": "10.48.0.1"}]

    # inspect page, then connect a container from it
    c = engine.containers.run("dockerweb-test/busybox:latest", ["sleep", "600"], name="dw-browser-c", detach=True)
    container_sync(host=host, container_id=c.id)  # what the watcher does on the engine's event
    row.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h2", has_text="docker network inspect dw-web").is_visible()
    assert '"Name": "dw-web"' in page.locator("#network-inspect").inner_text()
    page.select_option("#network-connect select[name=container]", "dw-browser-c")
    page.fill("#network-connect input[name=ipv4_address]", "10.48.0.1")
    page.click("#network-connect button.primary")
    page.wait_for_load_state("networkidle")
    assert "10.48.0.1 is already taken on 'dw-web' by the gateway" in page.locator("#network-connect").inner_text()
    page.fill("#network-connect input[name=ipv4_address]", "10.48.0.20")
    page.fill("#network-connect input[name=aliases]", "api")
    page.click("#network-connect button.primary")
    page.wait_for_load_state("networkidle")
    assert "10.48.0.20" in page.locator("tr[data-container=dw-browser-c]").inner_text()
    assert engine.api.inspect_container("dw-browser-c")["NetworkSettings"]["Networks"]["dw-web"]["IPAddress"] == "10.48.0.20"
    page.screenshot(path=str(artifacts_dir / "network-detail.png"), full_page=True)

    # the container page's panel: its networks, and disconnect from there
    page.goto(f"{asgi_server}/containers/{c.id}/?host=local")
    panel = page.locator("#container-networks")
    assert "10.48.0.20" in panel.locator("tr[data-network=dw-web]").inner_text()
    panel.locator("tr[data-network=dw-web] button", has_text="Disconnect").click()
    assert "Disconnect" in page.inner_text("#confirm-dialog-message")  # asked first, in the page's dialog
    with page.expect_navigation():
        page.click("#confirm-dialog-ok")
    assert f"/containers/{c.id}/" in page.url
    assert page.locator("#container-networks tr[data-network=dw-web]").count() == 0
    assert "dw-web" not in engine.api.inspect_container(c.id)["NetworkSettings"]["Networks"]
    page.locator("#container-networks").screenshot(path=str(artifacts_dir / "network-container-panel.png"))

    # now unused, dw-web is what a prune would remove (the preview changes nothing)
    page.goto(f"{asgi_server}/networks/prune/?host=local")
    preview = page.locator("#prune-preview li b").all_inner_texts()
    assert preview == ["dw-taken", "dw-web"]
    page.screenshot(path=str(artifacts_dir / "network-prune-preview.png"))
    assert {"dw-web", "dw-taken"} <= {n.name for n in engine.networks.list()}
