"""Issue 17, item 9: a job's progress counts the files' own bytes, not the tar's. A volume of one
6-byte file read "2.5 KiB of 2.5 KiB" (a tar's headers, padding and end blocks); now a backup,
an import and a restore say what a person knows of their volume: in place and through the
engine, against the real engine and a real Celery worker."""
from __future__ import annotations

import io
import tarfile

import pytest

from .conftest import import_archive, run_in, wait_job

pytestmark = pytest.mark.django_db(transaction=True)

# a 6-byte file, a hard link to it (its bytes once), a symbolic link and a folder (none), and a
# 10,000-byte file in a subfolder: 10,006 bytes of file data
FILES = ("printf 'hello\\n' > /v/a && ln /v/a /v/a-again && ln -s a /v/a-link && mkdir -p /v/sub "
         "&& head -c 10000 /dev/urandom > /v/sub/c")
DATA = 6 + 10000


def _volume(engine, name):
    engine.volumes.create(name)
    run_in(engine, name, FILES)


def test_both_ways_to_a_volume_count_the_files_bytes_alike(host, engine):
    """The size told beforehand and the bytes counted while reading agree, in place and through
    the engine's archive endpoint, and are the files' content: 10,006 bytes, not the tar's."""
    from dockerweb.backups.access import LocalFolder, ThroughEngine, volume_access

    _volume(engine, "pb-both")
    local = volume_access(host, "pb-both", job_key="pb-test-1")
    assert isinstance(local, LocalFolder)
    for way in (local, ThroughEngine(host, "pb-both", job_key="pb-test-2")):
        counted, tar = [], []
        members = way.read_tar(lambda b: tar.append(len(b)), io.StringIO(), counted.append)
        assert members == 6, way  # data/, a, a-again, a-link, sub/, sub/c
        assert sum(counted) == DATA == way.size(), way
        assert sum(tar) > DATA + 5 * 512  # the tar itself is larger: headers, padding, end blocks
    assert not engine.containers.list(all=True, filters={"label": "dockerweb.job"})


def test_a_backup_an_import_and_restores_report_the_files_bytes(celery_worker_proc, host, engine, operator,
                                                               make_user):
    from django.test import Client

    browser = Client()
    browser.force_login(make_user("operator", username="pb-reader"))
    _volume(engine, "pb-src")
    r = operator.post("/api/hosts/local/volumes/pb-src/backups/", {"compression": "zstd"}, format="json")
    assert r.status_code == 202, r.content
    done = wait_job(operator, f"/api/backups/{r.json()['id']}/")
    assert done["status"] == "succeeded", done["error"]
    assert done["bytes_done"] == done["bytes_total"] == DATA and done["archive"]["size"] != DATA

    # The job's page says the same, in those words.
    html = browser.get(f"/backups/{done['id']}/").content.decode()
    assert "9.8 KiB of 9.8 KiB of file data" in html and "Data read" in html and "Bytes read" not in html

    # A whole restore: what it wrote. One path: only that file's bytes, though all was read.
    r = operator.post(f"/api/backups/{done['id']}/restore/", {"volume": "pb-whole", "create": True}, format="json")
    whole = wait_job(operator, f"/api/restores/{r.json()['id']}/")
    assert whole["status"] == "succeeded", whole["error"]
    assert whole["bytes_done"] == whole["bytes_total"] == DATA
    r = operator.post(f"/api/backups/{done['id']}/restore/", {"volume": "pb-one", "create": True, "paths": ["/a"]},
                      format="json")
    one = wait_job(operator, f"/api/restores/{r.json()['id']}/")
    assert one["status"] == "succeeded", one["error"]
    assert one["bytes_done"] == one["bytes_total"] == 6
    assert run_in(engine, "pb-one", "cat /v/a", ro=True) == "hello\n"

    # An import of one 6-byte file: 6 B of data, whatever its archive weighs.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        f = tarfile.TarInfo("data/hello.txt")
        f.size = 6
        tf.addfile(f, io.BytesIO(b"hello\n"))
    imported = import_archive(operator, buf.getvalue(), volume="pb-imported", strip_components=1)
    assert imported["bytes_done"] == imported["bytes_total"] == 6 and imported["archive"]["size"] >= 2048
    html = browser.get(f"/backups/{imported['id']}/").content.decode()
    assert "6 B of 6 B of file data" in html and "2.5 KiB of 2.5 KiB" not in html


def test_an_upload_moves_the_bar_by_what_was_read_of_it(host):
    """An import learns its files' total only at the end: its bar follows the upload read."""
    from dockerweb.backups.models import Backup
    from dockerweb.core.jobs import Progress

    backup = Backup.objects.create(host=host, host_name=host.name, volume="pb-bar", origin=Backup.Origin.IMPORT,
                                   status="running")
    read = {"n": 0}
    progress = Progress(backup, fraction=lambda: read["n"] / 1000)
    progress.add(300)
    read["n"] = 250
    progress.flush()
    row = Backup.objects.get(pk=backup.pk)
    assert row.progress == 0.25 and row.bytes_done == 300 and row.bytes_total == 0 and row.eta is not None
    read["n"] = 1000
    progress.flush()
    assert Backup.objects.get(pk=backup.pk).progress == 0.99  # 1.0 only once the job succeeded
