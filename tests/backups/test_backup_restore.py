"""Backups and restores end to end: the API, a real Celery worker, the real engine."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile
from pathlib import Path

import blake3
import pytest
from django.conf import settings

from .conftest import fill_volume, fingerprint, import_archive, run_in, wait_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("compression", ["zstd", "fast", "gzip"])
def test_backup_then_restore_into_a_new_volume_is_identical(celery_worker_proc, host, engine, operator, compression):
    fill_volume(engine, "bk-src")
    before = fingerprint(engine, "bk-src")
    assert any("random.bin" in line for line in before) and any(" L ../file1.txt" in line for line in before)

    r = operator.post("/api/hosts/local/volumes/bk-src/backups/", {"compression": compression}, format="json")
    assert r.status_code == 202, r.content
    job = r.json()
    assert job["status"] == "queued" and job["volume"] == "bk-src" and job["host"] == "local"
    done = wait_job(operator, f"/api/backups/{job['id']}/")
    assert done["status"] == "succeeded", done["error"]
    assert done["progress"] == 1.0 and done["bytes_done"] > 512 * 1024
    archive = done["archive"]
    assert archive["compression"] == compression and archive["file_count"] > 50

    # the file in the store is complete and matches the recorded hash; the manifest hashes each file
    from dockerweb.backups.models import Backup
    b = Backup.objects.get(pk=job["id"])
    path = Path(settings.BACKUP_DIR) / b.path
    assert path.exists() and not path.name.startswith(".")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == archive["sha256"] == b.sha256
    assert path.stat().st_size == archive["size"]
    entries = [json.loads(line) for line in (Path(settings.BACKUP_DIR) / b.manifest_path).read_text().splitlines()]
    key = next(e for e in entries if e["path"].endswith("sub/secret.key"))
    assert key["blake3"] == blake3.blake3(b"secret\n").hexdigest() and key["mode"] == 0o600 and key["uid"] == 1234
    assert not list(path.parent.glob(".*.partial")), "no temporary file is left behind"

    # the download streams the same bytes
    dl = operator.get(f"/api/backups/{job['id']}/download/")
    assert dl.status_code == 200 and dl.streaming
    assert hashlib.sha256(b"".join(dl.streaming_content)).hexdigest() == archive["sha256"]

    r = operator.post(f"/api/backups/{job['id']}/restore/", {"volume": "bk-dst", "create": True}, format="json")
    assert r.status_code == 202, r.content
    restored = wait_job(operator, f"/api/restores/{r.json()['id']}/")
    assert restored["status"] == "succeeded", restored["error"]
    assert fingerprint(engine, "bk-dst") == before
    # on this machine both jobs used the volumes in place (tests/backups/test_data_paths.py
    # covers the engine's archive endpoint, the path of remote engines)
    log = celery_worker_proc.log_path.read_text(errors="replace")
    assert f"backup-{job['id']}: volume 'bk-src' on local read in place" in log
    assert f"restore-{r.json()['id']}: into volume 'bk-dst' on local in place" in log
    # no helper containers or staging volumes are left
    assert not engine.containers.list(all=True, filters={"label": "dockerweb.job"})
    assert not [v for v in engine.volumes.list() if v.name.startswith("dockerweb-staging")]


def test_restore_into_non_empty_volume_needs_overwrite_and_keeps_a_safety_backup(celery_worker_proc, host, engine, operator):
    fill_volume(engine, "ow-src", kib=64, small=5)
    engine.volumes.create("ow-dst")
    run_in(engine, "ow-dst", "echo old > /v/old.txt && echo keep > /v/other.txt")
    old = fingerprint(engine, "ow-dst")
    b = wait_job(operator, "/api/backups/{}/".format(
        operator.post("/api/hosts/local/volumes/ow-src/backups/", {}, format="json").json()["id"]))
    assert b["status"] == "succeeded"

    refused = wait_job(operator, "/api/restores/{}/".format(
        operator.post(f"/api/backups/{b['id']}/restore/", {"volume": "ow-dst"}, format="json").json()["id"]))
    assert refused["status"] == "failed" and "not empty" in refused["error"]
    assert fingerprint(engine, "ow-dst") == old

    r = operator.post(f"/api/backups/{b['id']}/restore/", {"volume": "ow-dst", "overwrite": True}, format="json")
    done = wait_job(operator, f"/api/restores/{r.json()['id']}/")
    assert done["status"] == "succeeded", done["error"]
    assert fingerprint(engine, "ow-dst") == fingerprint(engine, "ow-src")
    safety = operator.get(f"/api/backups/{done['safety_backup']}/").json()
    assert safety["status"] == "succeeded" and safety["origin"] == "safety" and safety["volume"] == "ow-dst"
    # the safety backup holds what was replaced
    back = wait_job(operator, "/api/restores/{}/".format(operator.post(
        f"/api/backups/{safety['id']}/restore/", {"volume": "ow-back", "create": True}, format="json").json()["id"]))
    assert back["status"] == "succeeded" and fingerprint(engine, "ow-back") == old


def test_import_the_walkthroughs_tar_and_restore_it_with_strip(celery_worker_proc, host, engine, operator, tmp_path):
    # Exactly the walkthrough: docker run --rm --volumes-from dbstore -v $(pwd):/backup ubuntu tar cvf /backup/backup.tar /dbdata
    (tmp_path / "src").mkdir()
    engine.containers.run("dockerweb-test/busybox:latest", ["sh", "-c", "echo 'this is backup test!' > /dbdata/file1.txt"],
                          name="dbstore", volumes=["/dbdata"], network_mode="none")
    engine.containers.run("dockerweb-test/busybox:latest", ["tar", "cvf", "/backup/backup.tar", "/dbdata"], remove=True,
                          volumes_from=["dbstore"], volumes={str(tmp_path): {"bind": "/backup", "mode": "rw"}},
                          network_mode="none")
    tar = tmp_path / "backup.tar"
    assert sorted(tarfile.open(tar).getnames()) == ["dbdata", "dbdata/file1.txt"]

    with open(tar, "rb") as f:
        imported = import_archive(operator, f, volume="dbdata", strip_components=1)
    assert imported["status"] == "succeeded" and imported["archive"]["compression"] == "none"
    assert imported["archive"]["sha256"] == hashlib.sha256(tar.read_bytes()).hexdigest()

    r = operator.post(f"/api/backups/{imported['id']}/restore/", {"host": "local", "volume": "dbstore2", "create": True},
                      format="json")
    done = wait_job(operator, f"/api/restores/{r.json()['id']}/")
    assert done["status"] == "succeeded", done["error"]
    assert run_in(engine, "dbstore2", "ls /v && cat /v/file1.txt") == "file1.txt\nthis is backup test!\n"


def test_restore_into_another_engine_migrates_the_volume(celery_worker_proc, host, engine, operator):
    import docker

    from dockerweb.inventory.services import host_reconcile, host_register
    from tests.support.procs import sandbox

    name_b = os.environ["DOCKERWEB_TEST_ENGINE"] + "-b"
    url_b = sandbox("start", name_b)
    client_b = docker.DockerClient(base_url=url_b, version="1.41", timeout=60)
    try:
        host_b = host_register(name="hostb", url=url_b)
        host_reconcile(host=host_b)
        fill_volume(engine, "mig-src", kib=256, small=20)
        before = fingerprint(engine, "mig-src")
        b = wait_job(operator, "/api/backups/{}/".format(
            operator.post("/api/hosts/local/volumes/mig-src/backups/", {}, format="json").json()["id"]))
        assert b["status"] == "succeeded"
        r = operator.post(f"/api/backups/{b['id']}/restore/", {"host": "hostb", "volume": "mig-dst", "create": True},
                          format="json")
        assert r.status_code == 202, r.content
        done = wait_job(operator, f"/api/restores/{r.json()['id']}/")
        assert done["status"] == "succeeded", done["error"]
        assert done["host"] == "hostb"
        assert fingerprint(client_b, "mig-dst") == before
        assert not client_b.containers.list(all=True, filters={"label": "dockerweb.job"})
    finally:
        for v in client_b.volumes.list():
            if v.name == "mig-dst":
                v.remove(force=True)
        client_b.close()
        subprocess.run([str(Path(__file__).resolve().parents[2] / "scripts" / "sandbox.sh"), "stop", name_b],
                       capture_output=True)
