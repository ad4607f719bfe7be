"""Issue 17, item 2 in a real browser: probes working from a busybox tagged with another name
(the web server started with DOCKERWEB_PROBE_IMAGE naming only that tag, so no default name is
eligible), and, on a server whose override names an image the host lacks, both probe buttons off
with the reason and no failed audit."""
import pytest

from tests.support.browser import login
from tests.support.procs import start_asgi

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

BUSYBOX = "dockerweb-test/busybox:latest"


@pytest.fixture
def pair(engine, host):
    from dockerweb.inventory.services import host_reconcile

    engine.networks.create("pimg-net", driver="bridge")
    for name in ("pimg-a", "pimg-b"):
        engine.containers.run(BUSYBOX, ["sleep", "1d"], name=name, network="pimg-net", detach=True)
    engine.images.get(BUSYBOX).tag("mytools/bb", "1.36")
    host_reconcile(host=host)
    yield host
    engine.images.remove("mytools/bb:1.36")


def _open_pair(page, url, user):
    from dockerweb.inventory.models import Container

    login(page, url, user)
    page.goto(url + "/audit/?host=local")
    page.wait_for_selector("#matrix-table")
    ids = {c.name: c.engine_id for c in Container.objects.filter(name__in=("pimg-a", "pimg-b"))}
    page.locator(f'td[data-pair="{ids["pimg-a"]}>{ids["pimg-b"]}"]').click()
    return ids


def test_probes_work_from_a_busybox_tagged_with_another_name(pair, celery_worker_proc, page, make_user,
                                                              artifacts_dir):
    from dockerweb.audit.models import Audit

    proc, url = start_asgi("web-probe-image", DOCKERWEB_PROBE_IMAGE="mytools/bb:1.36")
    try:
        user = make_user("operator")
        ids = _open_pair(page, url, user)
        assert page.inner_text("#probe-image") == "Probes run from mytools/bb:1.36 (DOCKERWEB_PROBE_IMAGE)"
        page.click("#probe-pair")
        page.wait_for_selector(f'td.mx-proven[data-pair="{ids["pimg-a"]}>{ids["pimg-b"]}"]')
        assert page.locator("td.mx-mismatch").count() == 0
        assert "agrees with the model" in page.inner_text("#path-info")
        # The whole audit, in the worker, from the image the web server chose.
        page.click("#audit-run-probe")
        page.wait_for_url("**/audit/*/?host=local", timeout=120_000)
        assert "probes agree with the model on all 2 pairs" in page.inner_text("#probe-verdict")
        assert "from mytools/bb:1.36" in page.inner_text("h2:has-text('Probe results')")
        page.screenshot(path=str(artifacts_dir / "audit-probes-other-tag.png"), full_page=False)
        assert not Audit.objects.filter(status=Audit.Status.FAILED).exists()
    finally:
        proc.stop()


def test_without_an_eligible_image_the_buttons_say_why_and_no_audit_fails(pair, page, make_user, artifacts_dir):
    from dockerweb.audit.models import Audit

    proc, url = start_asgi("web-probe-none", DOCKERWEB_PROBE_IMAGE="nosuch/tools:0")
    try:
        user = make_user("operator")
        _open_pair(page, url, user)
        reason = "Probes are off: DOCKERWEB_PROBE_IMAGE names nosuch/tools:0, which is not on host 'local'."
        assert page.inner_text("#probes-off") == reason
        assert page.is_disabled("#audit-run-probe")
        assert page.get_attribute("#audit-run-probe", "aria-describedby") == "probes-off"
        assert page.is_disabled("#probe-pair")
        assert page.inner_text("#probe-pair-off").strip() == reason
        assert page.is_enabled("#audit-run")  # a model-only audit is still there
        page.screenshot(path=str(artifacts_dir / "audit-probes-off.png"), full_page=False)
        # Even asked for by hand (the buttons are off), the server refuses in words and saves nothing.
        before = Audit.objects.count()
        status = page.evaluate("""() => fetch('/api/hosts/local/audit/', {method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', 'X-CSRFToken': window.dockerweb.csrf()},
            body: JSON.stringify({probe: true})}).then(r => r.json().then(j => [r.status, j.detail]))""")
        assert status == [409, reason]
        assert Audit.objects.count() == before
        assert not Audit.objects.filter(status=Audit.Status.FAILED).exists()
    finally:
        proc.stop()
