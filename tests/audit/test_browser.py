"""In a real browser: open the audit page, run it with probes (in a real Celery worker), see the
matrix and a highlighted path on the graph."""
import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_run_the_audit_and_see_a_path(audit_host, asgi_server, celery_worker_proc, page, make_user, artifacts_dir):
    from dockerweb.inventory.models import Container, Network

    user = make_user("operator")
    # Sign in through the form straight to the audit page (the shared `login` helper waits for
    # network idle on the home page, which a live page may never reach).
    page.goto(asgi_server + "/login/?next=/audit/%3Fhost%3Dlocal")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", user.test_password)
    page.click("button.primary")
    page.wait_for_url("**/audit/?host=local")
    page.wait_for_selector("#matrix-table")
    page.click("#audit-run-probe")
    page.wait_for_url("**/audit/*/?host=local", timeout=120_000)
    page.wait_for_selector("#matrix-table")
    assert "probes agree with the model" in page.inner_text("#probe-verdict")

    ids = {c.name: c.engine_id for c in Container.objects.filter(host=audit_host)}
    n1 = Network.objects.get(host=audit_host, name="aud-n1").engine_id
    # Every reachable cell was proven, none contradicted.
    assert page.locator("td.mx-mismatch").count() == 0
    assert page.locator("td.mx-proven").count() == 15 * 14
    cell = page.locator(f'td[data-pair="{ids["web"]}>{ids["api"]}"]')
    assert cell.inner_text().startswith("●n")
    cell.click()
    assert page.inner_text("#path-verdict") == "reachable, by IP and by name"
    # The graph is the topology page's (DockerwebTopology.mount), the path highlighted on it.
    graph = "DockerwebTopology.graphOf(document.getElementById('audit-graph'))"
    page.wait_for_function(f"() => {graph} && {graph}.cy.$('node.hl').length >= 3")
    lit = page.evaluate(f"{graph}.cy.$('.hl').map(function (e) {{ return e.data('api_id'); }})")
    assert {f"ctr:{ids['web']}", f"net:{n1}", f"ctr:{ids['api']}"} <= set(lit)
    assert len([x for x in lit if not x.startswith(("ctr:", "net:"))]) >= 2  # the two edges of the path
    # An isolated pair: nothing lit but its two ends, and the matrix says why.
    page.locator(f'td[data-pair="{ids["icc1"]}>{ids["icc2"]}"]').click()
    assert page.inner_text("#path-verdict") == "isolated"
    assert "enable_icc=false" in page.inner_text("#path-info")
    page.locator(f'td[data-pair="{ids["web"]}>{ids["api"]}"]').click()
    # Filter and group.
    page.select_option("#mf-group", "network")
    assert page.locator("tr.mx-group").count() >= 5
    page.screenshot(path=str(artifacts_dir / "audit-page.png"), full_page=False)
    page.fill("#mf-name", "icc")
    assert page.locator("#matrix-table th.mx-row").count() == 2
    page.fill("#mf-name", "")
    page.fill("#mf-label", "tier")
    groups = page.locator("tr.mx-group").all_inner_texts()
    assert groups[:2] == ["(no tier)", "tier=back"] or "tier=front" in groups
    page.screenshot(path=str(artifacts_dir / "audit-page-full.png"), full_page=True)
    audit_id = page.url.rstrip("/").split("/audit/")[1].split("/")[0]
    page.goto(asgi_server + f"/audit/{audit_id}/print/")
    assert page.locator("h2", has_text="Live probes").count() == 1
    assert "NO" not in page.locator("table").last.inner_text().split()
    page.screenshot(path=str(artifacts_dir / "audit-print.png"), full_page=False)
