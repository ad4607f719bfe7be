"""Door 6 of the trust issue: imports ran in the web process.

Found: `POST /api/backups/import/` read the archive with Python's `tarfile` inside daphne: a
3 KB `.tar.zst` holding one 100 MiB PAX header took the web process from 140 MB to 512 MB, a
big upload held a web worker for its whole check, and there was no size limit. Now uploads
stream to a file of the archive store within DOCKERWEB_IMPORT_MAX_BYTES and a worker checks
them with the restore's own reader (extended headers capped)."""
from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
import requests
import zstandard
from django.conf import settings

from tests.backups.conftest import wait_job
from tests.support import procs

pytestmark = pytest.mark.django_db(transaction=True)


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _pax_bomb(header_mib: int = 100) -> bytes:
    """A zstd tar whose first member has a PAX header of `header_mib` MiB (one long comment)."""
    record = b" comment=" + b"x" * (header_mib << 20) + b"\n"
    n = len(record)
    while len(str(n)) + len(record) != n:  # a PAX record counts its own length's digits
        n = len(str(n)) + len(record)
    payload = str(n).encode() + record
    head = tarfile.TarInfo("././@PaxHeader")
    head.type, head.size = tarfile.XHDTYPE, len(payload)
    raw = io.BytesIO()
    raw.write(head.tobuf(tarfile.USTAR_FORMAT))
    raw.write(payload + bytes(-len(payload) % 512))
    f = tarfile.TarInfo("data/file.txt")
    f.size = 3
    raw.write(f.tobuf(tarfile.USTAR_FORMAT) + b"hi\n" + bytes(509) + bytes(1024))
    return zstandard.ZstdCompressor(level=19).compress(raw.getvalue())


def _small_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        m = tarfile.TarInfo("data/hello.txt")
        m.size = 6
        tf.addfile(m, io.BytesIO(b"hello\n"))
    return buf.getvalue()


@pytest.fixture
def operator_token(make_user):
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=make_user("operator", username="importer")).key


def test_a_pax_bomb_leaves_the_web_process_flat_and_fails_in_the_worker(celery_worker_proc, host, operator_token,
                                                                         api_as):
    proc, url = procs.start_asgi(name="web-import")  # one web worker: the process that takes the upload
    headers = {"Authorization": f"Token {operator_token}"}
    try:
        [web] = proc.children()
        # Warm up the path once with an honest upload (imports, first allocations).
        r = requests.post(f"{url}/api/backups/import/", headers=headers, files={"file": ("ok.tar", _small_tar())},
                          data={"volume": "warmup"}, timeout=30)
        assert r.status_code == 202, r.text
        bomb = _pax_bomb()
        assert len(bomb) < 64 * 1024
        before = _rss(web)
        r = requests.post(f"{url}/api/backups/import/", headers=headers, files={"file": ("bomb.tar.zst", bomb)},
                          data={"volume": "bomb"}, timeout=30)
        after = _rss(web)
        assert r.status_code == 202 and r.json()["status"] == "queued", r.text
    finally:
        proc.stop()
    print(f"web process RSS: {before / 2**20:.1f} MiB before the upload, {after / 2**20:.1f} MiB after")
    assert after - before < 16 * 2**20, (before, after)
    done = wait_job(api_as("viewer"), f"/api/backups/{r.json()['id']}/")
    assert done["status"] == "failed" and "extended header" in done["error"], done
    assert done["error"].startswith("The upload cannot be used")
    assert not (Path(settings.BACKUP_DIR) / "imported" / str(done["id"])).exists()


def test_uploads_beyond_the_limit_are_refused_and_nothing_is_kept(host, operator_token):
    from dockerweb.backups.models import Backup

    proc, url = procs.start_asgi(name="web-limit", DOCKERWEB_IMPORT_MAX_BYTES=str(1 << 20))
    headers = {"Authorization": f"Token {operator_token}"}
    uploads = Path(settings.FILE_UPLOAD_TEMP_DIR)
    kept_before = set(os.listdir(uploads))
    try:
        r = requests.post(f"{url}/api/backups/import/", headers=headers,
                          files={"file": ("big.tar", os.urandom(3 << 20))}, data={"volume": "toobig"}, timeout=60)
        assert r.status_code == 413, r.text
        assert r.json()["field"] == "file" and "DOCKERWEB_IMPORT_MAX_BYTES" in r.json()["detail"]
        # Within the limit it is taken (the job then reads it).
        r = requests.post(f"{url}/api/backups/import/", headers=headers, files={"file": ("ok.tar", _small_tar())},
                          data={"volume": "small"}, timeout=30)
        assert r.status_code == 202, r.text
    finally:
        proc.stop()
    assert not Backup.objects.filter(volume="toobig").exists()
    assert set(os.listdir(uploads)) == kept_before


def test_an_upload_that_is_not_a_tar_is_refused_at_once(host, api_as):
    from dockerweb.backups.models import Backup

    r = api_as("operator").post("/api/backups/import/", {"file": io.BytesIO(b"not a tar at all" * 100),
                                                          "volume": "junk"}, format="multipart")
    assert r.status_code == 400 and r.json()["field"] == "file", r.content
    assert not Backup.objects.filter(volume="junk").exists()


def test_names_with_control_characters_are_refused(host, api_as, engine):
    """Door 11 (part): a restore into `bad\\nname` was accepted (202) and failed in the worker."""
    from dockerweb.backups.models import Backup, Restore

    operator = api_as("operator")
    b = Backup.objects.create(host=host, host_name="local", volume="v", status="succeeded", path="x/y.tar",
                              sha256="0" * 64, size=1)
    for name in ("bad\nname", "bad\x00name", "tab\tname", "../up", "a"):
        r = operator.post(f"/api/backups/{b.pk}/restore/", {"host": "local", "volume": name, "create": True},
                          format="json")
        assert r.status_code == 400 and r.json()["field"] == "volume", (name, r.content)
    r = operator.post("/api/backups/import/", {"file": io.BytesIO(_small_tar()), "volume": "new\nline"},
                      format="multipart")
    assert r.status_code == 400 and r.json()["field"] == "volume", r.content
    assert not Restore.objects.exists()
