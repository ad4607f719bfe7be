"""Issue 17, item 8: dockerweb's own objects — a restore's staging volume, a job's helper
container — are left out of lists and choices unless asked for. They are known by their labels
(`dockerweb.staging`, `dockerweb.job`), as the backups app makes them, never by their names."""
import pytest

from dockerweb.engine.archives import JOB_LABEL, STAGING_LABEL
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMAGE = "dockerweb-test/busybox:latest"
# Named as the backups app names them (archives.staging_volume_name) and labelled as it labels them.
STAGING = "dockerweb-staging-restore-41-5f3a9c"


@pytest.fixture
def internal_objects(engine, host):
    from dockerweb.inventory.services import host_reconcile

    engine.volumes.create("aa-staging-named-like-a-user-volume", labels={JOB_LABEL: "restore-41", STAGING_LABEL: "1"})
    engine.volumes.create(STAGING, labels={JOB_LABEL: "restore-41", STAGING_LABEL: "1"})
    engine.volumes.create("dockerweb-staging-lookalike")  # a person's volume with a similar name: shown
    engine.volumes.create("ux-data")
    engine.containers.create(IMAGE, ["true"], name="dw-helper-41", labels={JOB_LABEL: "restore-41"})
    engine.containers.create(IMAGE, ["true"], name="ux-app")
    host_reconcile(host=host)
    return host


def test_api_lists_leave_internal_objects_out_unless_asked(api_as, internal_objects):
    client = api_as("viewer")
    names = [v["name"] for v in client.get("/api/hosts/local/volumes/").json()]
    assert "ux-data" in names and "dockerweb-staging-lookalike" in names
    assert STAGING not in names and "aa-staging-named-like-a-user-volume" not in names
    names = [v["name"] for v in client.get("/api/hosts/local/volumes/?internal=1").json()]
    assert {STAGING, "aa-staging-named-like-a-user-volume", "ux-data"} <= set(names)

    names = [c["name"] for c in client.get("/api/hosts/local/containers/").json()]
    assert "ux-app" in names and "dw-helper-41" not in names
    names = [c["name"] for c in client.get("/api/hosts/local/containers/?internal=true").json()]
    assert {"ux-app", "dw-helper-41"} <= set(names)
    # Still reachable by name: hidden from lists, not from the person who asks for it.
    assert client.get(f"/api/hosts/local/volumes/{STAGING}/").status_code == 200
    assert client.get("/api/hosts/local/volumes/?internal=maybe").status_code == 400


def test_pages_hide_internal_objects_and_the_filter_shows_them(asgi_server, page, make_user, internal_objects,
                                                              artifacts_dir):
    user = make_user("operator", username="internal-operator")
    login(page, asgi_server, user)

    page.goto(asgi_server + "/volumes/?host=local")
    text = page.inner_text("table.volumes")
    assert "ux-data" in text and "dockerweb-staging-lookalike" in text
    assert STAGING not in text and "aa-staging-named-like-a-user-volume" not in text
    page.check("input[name=internal]")
    with page.expect_navigation():
        page.click("form.filters button")
    text = page.inner_text("table.volumes")
    assert STAGING in text and "aa-staging-named-like-a-user-volume" in text and "ux-data" in text
    assert page.is_checked("input[name=internal]")
    page.screenshot(path=str(artifacts_dir / "volumes-show-internal.png"), full_page=True)

    page.goto(asgi_server + "/containers/?host=local")
    text = page.inner_text("table.containers")
    assert "ux-app" in text and "dw-helper-41" not in text
    page.goto(asgi_server + "/containers/?host=local&internal=1")
    assert "dw-helper-41" in page.inner_text("table.containers")

    # "Back up a volume": the staging volumes are not offered, and the default is a person's volume.
    page.goto(asgi_server + "/backups/?host=local")
    options = page.locator("#backup-start select[name=volume] option").all_inner_texts()
    assert "ux-data" in options and STAGING not in options and "aa-staging-named-like-a-user-volume" not in options
    assert page.input_value("#backup-start select[name=volume]") == options[0] != "aa-staging-named-like-a-user-volume"

