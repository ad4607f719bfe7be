"""Bad archives are refused and the target volume stays exactly as it was."""
from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest
from django.conf import settings

from .conftest import evil_tar, fill_volume, fingerprint, import_archive, run_in, wait_job

pytestmark = pytest.mark.django_db(transaction=True)


def _backup(operator, volume):
    r = operator.post(f"/api/hosts/local/volumes/{volume}/backups/", {"compression": "zstd"}, format="json")
    b = wait_job(operator, f"/api/backups/{r.json()['id']}/")
    assert b["status"] == "succeeded", b["error"]
    return b


def _restore(operator, backup_id, **body):
    r = operator.post(f"/api/backups/{backup_id}/restore/", body, format="json")
    assert r.status_code == 202, r.content
    return wait_job(operator, f"/api/restores/{r.json()['id']}/")


def _no_leftovers(engine):
    assert not engine.containers.list(all=True, filters={"label": "dockerweb.job"})
    assert not [v.name for v in engine.volumes.list() if v.name.startswith("dockerweb-staging")]


@pytest.mark.parametrize("damage", ["corrupt", "truncate"])
def test_damaged_archive_is_refused_and_target_untouched(celery_worker_proc, host, engine, operator, damage):
    from dockerweb.backups.models import Backup

    fill_volume(engine, "dm-src", kib=1024, small=10)
    b = _backup(operator, "dm-src")
    path = Path(settings.BACKUP_DIR) / Backup.objects.get(pk=b["id"]).path
    data = bytearray(path.read_bytes())
    if damage == "corrupt":
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    else:
        path.write_bytes(bytes(data[: len(data) // 2]))

    engine.volumes.create("dm-dst")
    run_in(engine, "dm-dst", "echo precious > /v/precious.txt && mkdir /v/d && echo x > /v/d/x")
    before = fingerprint(engine, "dm-dst")
    done = _restore(operator, b["id"], volume="dm-dst", overwrite=True)
    assert done["status"] == "failed" and "SHA-256" in done["error"]
    assert fingerprint(engine, "dm-dst") == before
    # a new volume is not left half-made either
    done = _restore(operator, b["id"], volume="dm-new", create=True)
    assert done["status"] == "failed"
    assert "dm-new" not in [v.name for v in engine.volumes.list()]
    _no_leftovers(engine)


def test_truncated_archive_is_refused_by_the_stream_check_too(celery_worker_proc, host, engine, operator):
    """Even when the recorded hash matches (an archive cut before it was hashed), extraction
    notices the missing end and the target stays as it was."""
    from dockerweb.backups.models import Backup

    fill_volume(engine, "tr-src", kib=2048, small=5)
    b = _backup(operator, "tr-src")
    row = Backup.objects.get(pk=b["id"])
    path = Path(settings.BACKUP_DIR) / row.path
    cut = path.read_bytes()[: path.stat().st_size * 2 // 3]
    path.write_bytes(cut)
    Backup.objects.filter(pk=row.pk).update(sha256=hashlib.sha256(cut).hexdigest(), size=len(cut))

    engine.volumes.create("tr-dst")
    run_in(engine, "tr-dst", "echo precious > /v/precious.txt")
    before = fingerprint(engine, "tr-dst")
    done = _restore(operator, b["id"], volume="tr-dst", overwrite=True)
    assert done["status"] == "failed" and ("truncated" in done["error"] or "end" in done["error"]), done["error"]
    assert fingerprint(engine, "tr-dst") == before
    _no_leftovers(engine)


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "hardlink", "device", "through-symlink"])
def test_unsafe_members_are_refused(celery_worker_proc, host, engine, operator, kind):
    data = evil_tar(kind)
    imported = import_archive(operator, data, volume="evil", strip_components=1)
    engine.volumes.create("ev-dst")
    run_in(engine, "ev-dst", "echo mine > /v/mine.txt")
    before = fingerprint(engine, "ev-dst")
    done = _restore(operator, imported["id"], host="local", volume="ev-dst", overwrite=True)
    assert done["status"] == "failed" and ("refused" in done["error"] or "points" in done["error"]), done
    assert fingerprint(engine, "ev-dst") == before
    done = _restore(operator, imported["id"], host="local", volume="ev-new", create=True)
    assert done["status"] == "failed"
    assert "ev-new" not in [v.name for v in engine.volumes.list()]
    # nothing landed beside the volumes either (restores write local volumes in place)
    volumes_dir = Path(engine.api.inspect_volume("ev-dst")["Mountpoint"]).parents[1]
    assert not list(volumes_dir.glob("**/escape.txt")) and not list(volumes_dir.glob("**/evil"))
    _no_leftovers(engine)


def test_volumes_that_bind_host_paths_are_not_a_side_door(celery_worker_proc, host, engine, operator, tmp_path):
    """An admin-made volume with o=bind,device=<host path> reaches the host like a bind mount:
    an operator may neither back it up (and download the host's files) nor restore into it."""
    from dockerweb.backups.models import Backup, Restore
    from dockerweb.core.models import Activity

    secret = tmp_path / "host-dir"
    secret.mkdir()
    (secret / "secret.txt").write_text("host file")
    engine.volumes.create("bindish", driver="local", driver_opts={"type": "none", "o": "bind", "device": str(secret)})
    r = operator.post("/api/hosts/local/volumes/bindish/backups/", {"compression": "none"}, format="json")
    assert r.status_code == 403, r.content
    assert "bind mounts of host paths are for admins only" in r.json()["detail"]
    assert not Backup.objects.filter(volume="bindish").exists()
    assert Activity.objects.filter(action="backup.create", target="bindish", outcome="refused").count() == 1

    imported = import_archive(operator, _plain_tar(), volume="plain")
    r = operator.post(f"/api/backups/{imported['id']}/restore/",
                      {"host": "local", "volume": "bindish", "overwrite": True}, format="json")
    assert r.status_code == 403, r.content
    assert not Restore.objects.filter(volume="bindish").exists()
    assert [p.name for p in secret.iterdir()] == ["secret.txt"]


def _plain_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"hello\n"
        info = tarfile.TarInfo("data/hello.txt")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()
