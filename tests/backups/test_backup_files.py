"""A backup's files (from its manifest) and restoring chosen paths of it: the API, a real Celery
worker, the real engine; in place and through the engine's helpers."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.procs import start_worker

from .conftest import fill_volume, fingerprint, import_archive, run_in, wait_job

pytestmark = pytest.mark.django_db(transaction=True)


def _backup(api, volume: str) -> dict:
    r = api.post(f"/api/hosts/local/volumes/{volume}/backups/", {"compression": "zstd"}, format="json")
    assert r.status_code == 202, r.content
    done = wait_job(api, f"/api/backups/{r.json()['id']}/")
    assert done["status"] == "succeeded", done["error"]
    return done


def _restore(api, backup_id: int, **body) -> dict:
    r = api.post(f"/api/backups/{backup_id}/restore/", body, format="json")
    assert r.status_code == 202, r.content
    return wait_job(api, f"/api/restores/{r.json()['id']}/")


def _names(listing: dict) -> dict[str, dict]:
    return {e["name"]: e for e in listing["entries"]}


def _no_leftovers(engine):
    assert not engine.containers.list(all=True, filters={"label": "dockerweb.job"})
    assert not [v.name for v in engine.volumes.list() if v.name.startswith("dockerweb-staging")]


def test_the_files_of_a_backup_folder_by_folder(celery_worker_proc, host, engine, operator, api_as):
    fill_volume(engine, "bf-src", kib=16, small=3)
    b = _backup(operator, "bf-src")
    url = f"/api/backups/{b['id']}/files/"

    root = operator.get(url)
    assert root.status_code == 200, root.content
    root = root.json()
    assert root["path"] == "/" and root["truncated"] is False
    entries = _names(root)
    assert [e["name"] for e in root["entries"]][:2] == ["empty", "sub"], "folders first, as restored (no data/)"
    assert entries["file1.txt"] == {**entries["file1.txt"], "type": "file", "size": 21, "mode": 0o644, "uid": 0}
    sub = _names(operator.get(url, {"path": "/sub"}).json())
    assert sub["secret.key"] == {**sub["secret.key"], "mode": 0o600, "uid": 1234, "gid": 5678, "size": 7}
    assert sub["link-to-file1"] == {**sub["link-to-file1"], "type": "symlink", "link_target": "../file1.txt"}
    # the second name of a hard-linked file (in the archive's order) names the first, as restored
    assert entries["hardlink-to-run.sh"]["type"] == "file"
    assert sub["run.sh"] == {**sub["run.sh"], "type": "hardlink", "link_target": "/hardlink-to-run.sh", "size": 0}
    assert len(operator.get(url, {"path": "sub/deeper/"}).json()["entries"]) == 4

    r = operator.get(url, {"path": "/nothing"})
    assert r.status_code == 404 and r.json()["field"] == "path"
    r = operator.get(url, {"path": "/file1.txt"})
    assert r.status_code == 400 and "not a folder" in r.json()["detail"]
    r = operator.get(url, {"path": "/sub/../.."})
    assert r.status_code == 400 and r.json()["field"] == "path"
    r = api_as("viewer").get(url)
    assert r.status_code == 403 and "operator" in r.json()["detail"]
    from dockerweb.core.models import Activity
    assert Activity.objects.filter(action="backup.browse", outcome="refused").exists()


def test_the_walkthroughs_imported_tar_is_shown_as_restored(celery_worker_proc, host, operator, tmp_path):
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:  # `tar cvf backup.tar /dbdata`: members dbdata/…
        d = tarfile.TarInfo("dbdata")
        d.type, d.mode = tarfile.DIRTYPE, 0o755
        tf.addfile(d)
        f = tarfile.TarInfo("dbdata/file1.txt")
        f.size = 21
        tf.addfile(f, io.BytesIO(b"this is backup test!\n"))
        deep = tarfile.TarInfo("dbdata/implied/deeper/x.txt")  # its folders have no member of their own
        deep.size = 2
        tf.addfile(deep, io.BytesIO(b"x\n"))
    imported = import_archive(operator, buf.getvalue(), volume="dbdata", strip_components=1)
    listing = operator.get(f"/api/backups/{imported['id']}/files/").json()
    entries = _names(listing)
    assert set(entries) == {"file1.txt", "implied"}
    assert entries["implied"] == {"name": "implied", "type": "dir", "size": 0, "mode": None, "uid": None,
                                  "gid": None, "mtime": None, "link_target": None}
    assert _names(operator.get(f"/api/backups/{imported['id']}/files/", {"path": "/implied/deeper"}).json())["x.txt"]


def test_restore_one_file_into_a_volume_keeps_the_rest(celery_worker_proc, host, engine, operator):
    fill_volume(engine, "rf-src", kib=16, small=3)
    b = _backup(operator, "rf-src")
    engine.volumes.create("rf-dst")
    run_in(engine, "rf-dst", "mkdir -p /v/sub && echo changed > /v/sub/secret.key && echo mine > /v/mine.txt "
                             "&& echo other > /v/sub/other.txt")
    before = fingerprint(engine, "rf-dst")

    # the path exists in the target: replacing it needs overwrite, and the refusal changes nothing
    done = _restore(operator, b["id"], volume="rf-dst", paths=["/sub/secret.key"])
    assert done["status"] == "failed" and "overwrite" in done["error"] and "/sub/secret.key" in done["error"]
    assert fingerprint(engine, "rf-dst") == before
    done = _restore(operator, b["id"], volume="rf-dst", paths=["/sub/secret.key"], overwrite=True)
    assert done["status"] == "succeeded", done["error"]
    assert done["file_count"] == 2 and done["safety_backup"], "the file and its folder (for its owner and mode)"
    after = fingerprint(engine, "rf-dst")
    changed = sorted(set(after) ^ set(before))
    assert [line.split()[0] for line in changed] == ["./sub/secret.key", "./sub/secret.key"], changed
    assert run_in(engine, "rf-dst", "stat -c '%a %u %g' /v/sub/secret.key; cat /v/sub/secret.key") == \
        "600 1234 5678\nsecret\n"
    safety = operator.get(f"/api/backups/{done['safety_backup']}/").json()
    assert safety["origin"] == "safety" and safety["status"] == "succeeded"

    # a path the target lacks needs no overwrite; its missing folders get the archive's owner and mode
    done = _restore(operator, b["id"], volume="rf-dst", paths=["/sub/deeper/small-1.txt"])
    assert done["status"] == "succeeded", done["error"]
    assert run_in(engine, "rf-dst", "cat /v/sub/deeper/small-1.txt; ls /v/sub/deeper; stat -c '%a' /v/sub/deeper") \
        == "line 1 of a text-like file\nsmall-1.txt\n755\n"
    assert "mine\n" == run_in(engine, "rf-dst", "cat /v/mine.txt")
    # a hard link whose first name was not chosen is restored as the file itself
    done = _restore(operator, b["id"], volume="rf-dst", paths=["/sub/run.sh"])
    assert done["status"] == "succeeded", done["error"]
    assert run_in(engine, "rf-dst", "cat /v/sub/run.sh; stat -c %a /v/sub/run.sh; ls /v; ls /v/sub") == \
        "#!/bin/sh\necho hi\n755\nmine.txt\nsub\ndeeper\nother.txt\nrun.sh\nsecret.key\n"
    restore = operator.get(f"/api/restores/{done['id']}/").json()
    assert restore["paths"] == ["/sub/run.sh"]
    _no_leftovers(engine)


def test_restore_one_folder_into_a_new_volume(celery_worker_proc, host, engine, operator):
    fill_volume(engine, "rn-src", kib=16, small=3)
    b = _backup(operator, "rn-src")
    done = _restore(operator, b["id"], volume="rn-new", create=True, paths=["/sub", "/sub/secret.key"])
    assert done["status"] == "succeeded", done["error"]
    src = [line for line in fingerprint(engine, "rn-src") if line.startswith(("root", "./sub"))]
    assert fingerprint(engine, "rn-new") == src, "the folder, its links and modes, and the root's owner and mode"
    assert operator.get(f"/api/restores/{done['id']}/").json()["paths"] == ["/sub"]
    _no_leftovers(engine)


def test_paths_not_in_the_archive_are_refused_before_the_job(celery_worker_proc, host, engine, operator):
    from dockerweb.backups.models import Restore

    fill_volume(engine, "rp-src", kib=4, small=1)
    b = _backup(operator, "rp-src")
    for paths, words in ((["/sub/nothing"], "/sub/nothing"), (["/file1.txt", "/nope"], "/nope"),
                         (["/sub/../../etc/passwd"], "'..'"), (["/data/file1.txt"], "/data/file1.txt")):
        r = operator.post(f"/api/backups/{b['id']}/restore/", {"volume": "rp-new", "create": True, "paths": paths},
                          format="json")
        assert r.status_code == 400 and r.json()["field"] == "paths" and words in r.json()["detail"], r.content
    r = operator.post(f"/api/backups/{b['id']}/restore/", {"volume": "rp-new", "create": True,
                                                            "paths": ["/x"] * 1001}, format="json")
    assert r.status_code == 400 and "paths" in r.json()["errors"]
    assert not Restore.objects.exists()
    assert "rp-new" not in [v.name for v in engine.volumes.list()]


@pytest.fixture(params=["in place", "through the engine"])
def worker(request, celery_worker_proc, monkeypatch):
    """The worker that runs the restores: the session's (in place), or one that may not use
    volumes in place (the path of remote engines)."""
    if request.param == "in place":
        yield None
        return
    queue = f"files-engine-{os.getpid()}"
    monkeypatch.setenv("DOCKERWEB_BACKUP_DIRECT", "off")
    proc = start_worker(name="files-engine", concurrency=1, queues=queue)
    monkeypatch.delenv("DOCKERWEB_BACKUP_DIRECT")
    from dockerweb.backups import tasks

    original = tasks.restore_run_task.apply_async
    monkeypatch.setattr(tasks.restore_run_task, "apply_async",
                        lambda *a, **kw: original(*a, **{**kw, "queue": queue}))
    yield proc
    proc.stop()


def test_a_failed_path_restore_leaves_the_target_as_it_was(worker, host, engine, operator):
    fill_volume(engine, "rx-src", kib=16, small=3)
    b = _backup(operator, "rx-src")
    engine.volumes.create("rx-dst")
    # a container planted a link where a chosen path's folder is: nothing is written through it
    run_in(engine, "rx-dst", "mkdir /v/elsewhere && ln -s elsewhere /v/sub && echo keep > /v/file1.txt")
    before = fingerprint(engine, "rx-dst")
    done = _restore(operator, b["id"], volume="rx-dst", overwrite=True, paths=["/file1.txt", "/sub/secret.key"])
    assert done["status"] == "failed" and "symbolic link" in done["error"], done
    assert fingerprint(engine, "rx-dst") == before
    assert run_in(engine, "rx-dst", "ls -A /v/elsewhere; ls -A /v") == "elsewhere\nfile1.txt\nsub\n"

    # a damaged archive: found before anything of the target changes
    from dockerweb.backups.models import Backup
    path = Path(settings.BACKUP_DIR) / Backup.objects.get(pk=b["id"]).path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    run_in(engine, "rx-dst", "rm /v/sub")
    before = fingerprint(engine, "rx-dst")
    done = _restore(operator, b["id"], volume="rx-dst", overwrite=True, paths=["/file1.txt"])
    assert done["status"] == "failed" and "SHA-256" in done["error"]
    assert fingerprint(engine, "rx-dst") == before
    done = _restore(operator, b["id"], volume="rx-new", create=True, paths=["/file1.txt"])
    assert done["status"] == "failed"
    assert "rx-new" not in [v.name for v in engine.volumes.list()], "a volume the job made goes again"
    _no_leftovers(engine)


def test_path_restores_on_both_data_paths(worker, host, engine, operator):
    fill_volume(engine, "rb-src", kib=64, small=3)
    b = _backup(operator, "rb-src")
    engine.volumes.create("rb-dst")
    run_in(engine, "rb-dst", "mkdir -p /v/sub/deeper && echo old > /v/sub/deeper/small-0.txt && echo keep > /v/keep")
    before = fingerprint(engine, "rb-dst")
    done = _restore(operator, b["id"], volume="rb-dst", overwrite=True, paths=["/sub/deeper", "/empty"])
    assert done["status"] == "succeeded", done["error"]
    after = fingerprint(engine, "rb-dst")
    src = fingerprint(engine, "rb-src")
    assert [x for x in after if x.startswith(("./sub/deeper", "./empty"))] == \
        [x for x in src if x.startswith(("./sub/deeper", "./empty"))]
    assert [x for x in after if x.startswith(("root", "./keep", "./sub "))] == \
        [x for x in before if x.startswith(("root", "./keep", "./sub "))]
    assert not [x for x in after if x.startswith("./.dockerweb")]
    if worker is not None:
        log = worker.log_path.read_text(errors="replace")
        assert f"restore-{done['id']}: paths /sub/deeper, /empty into volume 'rb-dst' through a helper container" in log
    assert operator.get(f"/api/restores/{done['id']}/").json()["paths"] == ["/sub/deeper", "/empty"]
    _no_leftovers(engine)


def test_the_hash_of_a_restored_file_matches_the_manifest(celery_worker_proc, host, engine, operator):
    """What a path restore writes is what the archive holds: the manifest's BLAKE3 of the file."""
    import json

    import blake3

    from dockerweb.backups.models import Backup

    fill_volume(engine, "rh-src", kib=300, small=1)
    b = _backup(operator, "rh-src")
    manifest = Path(settings.BACKUP_DIR) / Backup.objects.get(pk=b["id"]).manifest_path
    entry = next(json.loads(line) for line in manifest.read_text().splitlines() if "random.bin" in line)
    done = _restore(operator, b["id"], volume="rh-new", create=True, paths=["/sub/deeper/random.bin"])
    assert done["status"] == "succeeded", done["error"]
    from dockerweb.engine.archives import volume_local_dir
    folder = volume_local_dir(host, "rh-new")
    data = (folder / "sub" / "deeper" / "random.bin").read_bytes()
    assert blake3.blake3(data).hexdigest() == entry["blake3"] and len(data) == 300 * 1024
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750 and folder.stat().st_uid == 999
