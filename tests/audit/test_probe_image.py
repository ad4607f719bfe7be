"""Issue 17, item 2: probes run from any local image that has `sh` and `ping` (not only from
images with two fixed names), the image is chosen once per host, and without one a probing audit
is refused in words (409) instead of leaving a failed audit behind."""
import pytest

from dockerweb.audit.models import Audit
from dockerweb.engine import probes as engine_probes

pytestmark = pytest.mark.django_db

BUSYBOX = "dockerweb-test/busybox:latest"


@pytest.fixture
def other_images(engine):
    """`mytools/bb:1.36`: the test busybox under another name; `mytools/nosh:1`: an image without
    `sh` (one text file, imported; like a distroless image). Both removed after. (A busybox with
    /bin/ping deleted would not do: its shell runs applets without looking at /bin.)"""
    import io
    import tarfile

    engine.images.get(BUSYBOX).tag("mytools/bb", "1.36")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"hello\n"))
    engine.api.import_image_from_data(buf.getvalue(), repository="mytools/nosh", tag="1")
    yield {"bb": "mytools/bb:1.36", "nosh": "mytools/nosh:1"}
    for ref in ("mytools/bb:1.36", "mytools/nosh:1"):
        try:
            engine.images.remove(ref)
        except Exception:  # noqa: BLE001 - already gone
            pass


@pytest.fixture
def pair(engine, host):
    """Two running containers on one user network, mirrored."""
    from dockerweb.inventory.services import host_reconcile

    engine.networks.create("pimg-net", driver="bridge")
    for name in ("pimg-a", "pimg-b"):
        engine.containers.run(BUSYBOX, ["sleep", "1d"], name=name, network="pimg-net", detach=True)
    host_reconcile(host=host)
    return host


def test_the_override_may_name_any_tag_and_is_checked_for_the_tools(host, engine, other_images, settings):
    settings.PROBE_IMAGE = "mytools/bb:1.36"  # DOCKERWEB_PROBE_IMAGE
    st = engine_probes.probe_image_status(host)
    assert st == {"image": "mytools/bb:1.36", "override": True, "reason": ""}

    settings.PROBE_IMAGE = "mytools/nosh:1"  # DOCKERWEB_PROBE_IMAGE
    st = engine_probes.probe_image_status(host)
    assert st["image"] is None
    assert st["reason"] == ("Probes are off: DOCKERWEB_PROBE_IMAGE names mytools/nosh:1, which is missing sh "
                            "or ping.")

    settings.PROBE_IMAGE = "nosuch/tools:0"  # DOCKERWEB_PROBE_IMAGE
    st = engine_probes.probe_image_status(host)
    assert st["image"] is None and "nosuch/tools:0, which is not on host 'local'" in st["reason"]
    # The checks leave no container behind.
    assert not engine.containers.list(all=True, filters={"label": engine_probes.PROBE_LABEL})


def test_without_override_the_first_local_image_with_the_tools_is_chosen_once(host, engine, other_images,
                                                                             monkeypatch, settings):
    settings.PROBE_IMAGE = ""  # DOCKERWEB_PROBE_IMAGE not set
    # Only the image without sh is a preferred candidate: it is checked, refused, and the search
    # goes on through the host's other images.
    monkeypatch.setattr(engine_probes, "IMAGE_CANDIDATES", ("mytools/nosh:1",))
    st = engine_probes.probe_image_status(host)
    assert st["image"] and st["image"] != "mytools/nosh:1" and st["reason"] == ""
    from dockerweb.engine.images import image_choose

    got = image_choose(host, script=engine_probes.TOOLS_CHECK, labels={engine_probes.PROBE_LABEL: "check"},
                       preferred=("mytools/nosh:1",))
    assert {"image": "mytools/nosh:1", "why": "lacks the tools"} in got["tried"]
    # Chosen once: the next call is answered from memory (no check container is created).
    seen = []
    monkeypatch.setattr("dockerweb.engine.images.image_runs_ok", lambda *a, **k: seen.append(a) or True)
    assert engine_probes.probe_image_status(host)["image"] == st["image"]
    assert seen == []
    # A change of the host's images chooses again.
    engine.images.get(BUSYBOX).tag("mytools/bb", "again")
    try:
        engine_probes.probe_image_status(host)
        assert seen
    finally:
        engine.images.remove("mytools/bb:again")


def test_no_image_means_409_in_words_and_no_failed_audit(pair, api_as, settings):
    settings.PROBE_IMAGE = "nosuch/tools:0"  # DOCKERWEB_PROBE_IMAGE
    op = api_as("operator")
    before = Audit.objects.count()
    r = op.post("/api/hosts/local/audit/", {"probe": True}, format="json")
    assert r.status_code == 409, r.content
    assert r.json()["detail"] == ("Probes are off: DOCKERWEB_PROBE_IMAGE names nosuch/tools:0, which is not on "
                                  "host 'local'.")
    r = op.post("/api/hosts/local/audit/probe/", {"source": "pimg-a", "target": "pimg-b"}, format="json")
    assert r.status_code == 409 and "nosuch/tools:0" in r.json()["detail"]
    assert Audit.objects.count() == before
    # A model-only audit is still allowed.
    assert op.post("/api/hosts/local/audit/", {"probe": False}, format="json").status_code == 201


def test_probes_run_from_a_busybox_with_another_name(pair, api_as, other_images, settings):
    settings.PROBE_IMAGE = "mytools/bb:1.36"  # DOCKERWEB_PROBE_IMAGE
    op = api_as("operator")
    r = op.post("/api/hosts/local/audit/probe/", {"source": "pimg-a", "target": "pimg-b"}, format="json")
    assert r.status_code == 200, r.content
    res = r.json()
    assert res["image"] == "mytools/bb:1.36" and res["errors"] == []
    assert len(res["pairs"]) == 2 and all(p["agrees"] and p["measured"]["by_name"] for p in res["pairs"])
    # A saved probing audit (inline here) records the image it probed from.
    from dockerweb.audit import services

    audit = services.audit_run(actor=op.user, host=pair, probe=True)
    assert audit.status == "succeeded" and audit.probes["image"] == "mytools/bb:1.36"
    assert audit.summary["mismatches"] == 0 and audit.summary["probed_pairs"] == 2
