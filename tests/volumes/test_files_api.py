"""The files of a volume through the API, against the real engine, on both data paths: in place
(this machine reaches the volume's folder) and through the engine (a read-only helper container,
the path of remote engines; forced with DOCKERWEB_BACKUP_DIRECT=off, read by this very process,
which serves the test client's requests)."""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
import requests

from dockerweb.core.models import Activity
from tests.backups.conftest import IMAGE, fill_volume, run_in

pytestmark = [pytest.mark.django_db(transaction=True),
              # The test client reads the (async) download streams whole, as the ASGI server does not.
              pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume:Warning")]

FILES = "/api/hosts/local/volumes/{}/files/"
CONTENT = "/api/hosts/local/volumes/{}/files/content/"
ARCHIVE = "/api/hosts/local/volumes/{}/files/archive/"

# What a container may leave in a volume to lure a reader out of it.
LURES = r"""
cd /v
ln -s /etc etc-link
ln -s ../../../../../../.. up
ln -s sub sub-link
mkfifo pipe
printf 'we\nird\n' > "$(printf 'new\nline')"
"""


@pytest.fixture(params=["in place", "through the engine"])
def data_path(request, settings):
    if request.param == "through the engine":
        settings.BACKUP_DIRECT = False  # DOCKERWEB_BACKUP_DIRECT=off
    return request.param


def _body(response) -> bytes:
    """The whole answer; a download stream (async) is read in a thread of its own, as browser
    tests keep an event loop running in this one."""
    if not response.streaming:
        return response.content
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: b"".join(response)).result()


def _names(listing: dict) -> dict[str, dict]:
    return {e["name"]: e for e in listing["entries"]}


def test_listing_content_and_archive(host, engine, api_as, data_path):
    from dockerweb.engine.archives import volume_local_dir

    fill_volume(engine, "fl-vol", kib=256, small=3)
    run_in(engine, "fl-vol", LURES)
    assert (volume_local_dir(host, "fl-vol") is None) == (data_path == "through the engine")
    operator = api_as("operator")

    r = operator.get(FILES.format("fl-vol"))
    assert r.status_code == 200, r.content
    root = r.json()
    assert root["path"] == "/" and root["truncated"] is False
    entries = _names(root)
    assert [e["name"] for e in root["entries"]][:2] == ["empty", "sub"], "folders first, then by name"
    assert entries["file1.txt"] == {**entries["file1.txt"], "type": "file", "size": 21, "mode": 0o644}
    assert entries["empty"]["type"] == "dir" and entries["empty"]["mode"] == 0o1777
    assert entries["etc-link"] == {**entries["etc-link"], "type": "symlink", "link_target": "/etc", "size": 0}
    assert entries["pipe"]["type"] == "fifo"
    assert entries["new\nline"]["size"] == 7, "a name may hold a newline"
    assert entries["name with spaces.txt"]["type"] == "file"
    assert any(n.startswith("long-0000") and len(n) == 125 for n in entries)

    sub = operator.get(FILES.format("fl-vol"), {"path": "/sub"}).json()
    assert sub["path"] == "/sub"
    subs = _names(sub)
    assert subs["secret.key"] == {**subs["secret.key"], "mode": 0o600, "uid": 1234, "gid": 5678, "size": 7}
    assert subs["link-to-file1"]["link_target"] == "../file1.txt"
    assert isinstance(subs["secret.key"]["mtime"], int)
    assert operator.get(FILES.format("fl-vol"), {"path": "sub/deeper/"}).json()["path"] == "/sub/deeper"

    # a text file is shown as text, a binary one as bytes; both whole with download=true
    r = operator.get(CONTENT.format("fl-vol"), {"path": "/file1.txt"})
    assert r.status_code == 200 and r["Content-Type"] == "text/plain; charset=utf-8"
    assert r.content == b"this is backup test!\n"
    r = operator.get(CONTENT.format("fl-vol"), {"path": "/sub/deeper/random.bin"})
    assert r.status_code == 200 and r["Content-Type"] == "application/octet-stream" and len(r.content) == 256 * 1024
    expected = r.content
    r = operator.get(CONTENT.format("fl-vol"), {"path": "/sub/deeper/random.bin", "download": "true"})
    assert r.status_code == 200 and r.streaming and "attachment" in r["Content-Disposition"]
    assert _body(r) == expected

    # a folder as a tar, named after the folder (the root: after the volume); links stay links
    r = operator.get(ARCHIVE.format("fl-vol"), {"path": "/sub"})
    assert r.status_code == 200 and r["Content-Type"] == "application/x-tar" and r.streaming
    with tarfile.open(fileobj=io.BytesIO(_body(r))) as tf:
        names = tf.getnames()
        assert "sub/secret.key" in names and all(n == "sub" or n.startswith("sub/") for n in names)
        assert tf.extractfile("sub/secret.key").read() == b"secret\n"
        link = tf.getmember("sub/link-to-file1")
        assert link.issym() and link.linkname == "../file1.txt"
    r = operator.get(ARCHIVE.format("fl-vol"))
    with tarfile.open(fileobj=io.BytesIO(_body(r))) as tf:
        names = tf.getnames()
        assert "fl-vol/file1.txt" in names and tf.getmember("fl-vol/etc-link").issym()
        assert not any("passwd" in n for n in names), "a link to /etc is stored as a link, never followed"

    # every read of bytes is in the activity log, with the data path that served it
    rows = Activity.objects.filter(action="volume.download", target="fl-vol", outcome="ok")
    assert {(a.detail["what"], a.detail["path"]) for a in rows} >= {
        ("view", "/file1.txt"), ("file", "/sub/deeper/random.bin"), ("archive", "/sub"), ("archive", "/")}
    assert {a.detail["read"] for a in rows} == {data_path}
    # no helper container is left (they are removed once the answer is sent)
    assert not engine.containers.list(all=True, filters={"label": "dockerweb.job"})


def test_refusals_change_nothing_and_leave_the_volume(host, engine, api_as, data_path):
    fill_volume(engine, "fr-vol", kib=4, small=1)
    run_in(engine, "fr-vol", LURES)
    operator, viewer = api_as("operator"), api_as("viewer")

    for url in (FILES, CONTENT, ARCHIVE):
        r = viewer.get(url.format("fr-vol"), {"path": "/file1.txt"})
        assert r.status_code == 403 and "operator" in r.json()["detail"], r.content
    assert Activity.objects.filter(action="volume.browse", outcome="refused", target="fr-vol").exists()
    assert Activity.objects.filter(action="volume.download", outcome="refused", target="fr-vol").exists()

    def refused(url, path, status=400, words=""):
        r = operator.get(url.format("fr-vol"), {"path": path})
        assert r.status_code == status, (url, path, r.status_code, r.content)
        body = r.json()
        if status in (400, 404, 413):
            assert body["field"] == "path", body
        assert words in body["detail"], body
        return body

    # `..` never leaves the root, whatever is around it
    for path in ("/..", "/sub/../../etc", "../", "sub/../.."):
        for url in (FILES, CONTENT, ARCHIVE):
            refused(url, path, words="'..'")
    # a symbolic link is shown, never followed: not as a folder, not as a file, not on the way
    refused(FILES, "/etc-link", words="symbolic link")
    refused(FILES, "/up", words="symbolic link")
    refused(FILES, "/sub-link", words="symbolic link")
    refused(CONTENT, "/etc-link/passwd", words="symbolic link")
    refused(CONTENT, "/up/etc/passwd", words="symbolic link")
    refused(CONTENT, "/sub-link/secret.key", words="symbolic link")
    refused(CONTENT, "/sub/link-to-file1", words="symbolic link")
    refused(ARCHIVE, "/etc-link", words="symbolic link")
    refused(ARCHIVE, "/up", words="symbolic link")
    # no bytes where there are none; nothing where nothing is
    refused(CONTENT, "/pipe", words="not a regular file")
    refused(CONTENT, "/sub", words="is a folder")
    refused(CONTENT, "/", words="root folder")
    refused(FILES, "/file1.txt", words="not a folder")
    refused(ARCHIVE, "/file1.txt", words="not a folder")
    refused(FILES, "/nothing-here", status=404)
    refused(CONTENT, "/sub/nothing-here", status=404)
    assert operator.get(FILES.format("no-such-volume")).status_code == 404
    r = operator.get(CONTENT.format("fr-vol"))
    assert r.status_code == 400 and "path" in r.json()["errors"]
    assert not engine.containers.list(all=True, filters={"label": "dockerweb.job"})


def test_files_beyond_the_viewing_cap_are_downloaded(host, engine, api_as, data_path, settings):
    engine.volumes.create("fc-vol")
    run_in(engine, "fc-vol", "dd if=/dev/zero of=/v/big bs=1024 count=64 2>/dev/null; mkdir /v/many; "
                             "cd /v/many && seq 1 12 | while read i; do touch f$i; done")
    settings.FILES_VIEW_MAX_BYTES = 16 * 1024
    settings.FILES_LIST_MAX = 5
    operator = api_as("operator")
    r = operator.get(CONTENT.format("fc-vol"), {"path": "/big"})
    assert r.status_code == 413 and r.json()["field"] == "path" and "Download it" in r.json()["detail"]
    r = operator.get(CONTENT.format("fc-vol"), {"path": "/big", "download": "true"})
    assert r.status_code == 200 and _body(r) == bytes(64 * 1024)
    listing = operator.get(FILES.format("fc-vol"), {"path": "/many"}).json()
    assert listing["truncated"] is True and len(listing["entries"]) == 5


def test_the_volume_of_a_privileged_container_is_the_admins(host, engine, api_as, data_path):
    """Door 8 of the trust issue, for files: whoever reads a volume that a privileged container
    runs from could read what it runs with (and its secrets); operators are refused, admins not."""
    engine.volumes.create("fp-vol")
    run_in(engine, "fp-vol", "echo 'key=42' > /v/secret")
    engine.containers.create(IMAGE, ["sh", "/data/secret"], name="fp-priv", privileged=True, network_mode="none",
                             volumes={"fp-vol": {"bind": "/data", "mode": "rw"}})
    operator, admin = api_as("operator"), api_as("admin")
    for url in (FILES, CONTENT, ARCHIVE):
        r = operator.get(url.format("fp-vol"), {"path": "/secret" if url == CONTENT else "/"})
        assert r.status_code == 403 and "privileged" in r.json()["detail"], r.content
    assert Activity.objects.filter(action="volume.download", outcome="refused", target="fp-vol").count() == 2
    assert Activity.objects.filter(action="volume.browse", outcome="refused", target="fp-vol").count() == 1
    assert admin.get(CONTENT.format("fp-vol"), {"path": "/secret"}).content == b"key=42\n"
    assert "secret" in _names(admin.get(FILES.format("fp-vol")).json())


def test_a_volume_binding_a_host_path_is_the_admins(host, engine, api_as, tmp_path, settings):
    settings.BIND_ALLOWLIST = [str(tmp_path)]
    (tmp_path / "hostfile").write_text("from the host\n")
    engine.volumes.create("fb-vol", driver="local", driver_opts={"type": "none", "o": "bind", "device": str(tmp_path)})
    operator, admin = api_as("operator"), api_as("admin")
    r = operator.get(FILES.format("fb-vol"))
    assert r.status_code == 403 and "admin" in r.json()["detail"], r.content
    r = operator.get(CONTENT.format("fb-vol"), {"path": "/hostfile"})
    assert r.status_code == 403, r.content
    # (a volume with options is read through the engine: its folder is a mount inside the engine)
    assert admin.get(CONTENT.format("fb-vol"), {"path": "/hostfile"}).content == b"from the host\n"
    assert not engine.containers.list(all=True, filters={"label": "dockerweb.job"})


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.mark.slow
@pytest.mark.parametrize("direct", ["auto", "off"])
def test_downloads_stream_through_the_web_tier_in_constant_memory(host, engine, api_as, direct):
    """The production web tier (uvicorn under gunicorn) sends a 256 MiB folder and file as they
    are read: Django would read a synchronous iterator whole into memory first (here: 256 MiB
    more at the peak); the worker's peak memory grows by a few chunks instead."""
    from rest_framework.authtoken.models import Token

    from tests.support.procs import start_asgi

    engine.volumes.create("fm-vol")
    run_in(engine, "fm-vol", "mkdir /v/d && dd if=/dev/urandom of=/v/d/big bs=1M count=256 2>/dev/null")
    operator = api_as("operator")
    auth = {"Authorization": f"Token {Token.objects.get(user=operator.user).key}"}
    proc, url = start_asgi(f"web-files-{direct}", DOCKERWEB_BACKUP_DIRECT=direct)
    try:
        (worker,) = proc.children()
        requests.get(url + FILES.format("fm-vol"), headers=auth, timeout=60).raise_for_status()
        before = _peak_rss(worker)
        for endpoint, params in ((ARCHIVE, {"path": "/d"}), (CONTENT, {"path": "/d/big", "download": "true"})):
            with requests.get(url + endpoint.format("fm-vol"), params=params, headers=auth, stream=True,
                              timeout=120) as r:
                assert r.status_code == 200, r.text[:300]
                got = sum(len(c) for c in r.iter_content(1 << 20))
            assert got >= 256 << 20
        grown = _peak_rss(worker) - before
        assert grown < 64 << 20, f"the web worker's peak memory grew by {grown >> 20} MiB"
        log = proc.log_path.read_text(errors="replace")
        assert "Traceback" not in log, log[-3000:]
    finally:
        proc.stop()
    assert not engine.containers.list(all=True, filters={"label": "dockerweb.job"})


def test_helpers_left_by_a_dead_web_process_are_swept(host, engine):
    """A helper holds its volume "in use" (it cannot be removed): the reaper removes those of
    files requests whose process died before removing them, and nothing else."""
    from dockerweb.backups.services import job_reap
    from dockerweb.engine import archives

    engine.volumes.create("fs-vol")
    cid = archives.helper_create(host, job_key=archives.files_job_key(), mounts={"fs-vol": ("/x", True)})
    other = archives.helper_create(host, job_key="backup-999999", mounts={"fs-vol": ("/y", True)})
    job_reap()  # young helpers are in use by a request: kept
    assert {c.id for c in engine.containers.list(all=True)} >= {cid, other}
    assert archives.files_helpers_stale_remove(host, older_than=0) == [cid[:12]]
    assert cid not in {c.id for c in engine.containers.list(all=True)}
    assert other in {c.id for c in engine.containers.list(all=True)}, "only files helpers"
