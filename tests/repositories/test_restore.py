"""Restores from repository snapshots: whole and by path, staged and all-or-nothing like an
archive's, and from the offsite copy once the local archive store and the local repository are
gone."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.aio import run_async

from .conftest import fill_volume, fingerprint, make_local, make_sftp, run_in, snapshot, wait_job

pytestmark = pytest.mark.django_db(transaction=True)


def restore(api, repo_id: int, snap: str, **body) -> dict:
    r = api.post(f"/api/repositories/{repo_id}/snapshots/{snap}/restore/", {"host": "local", **body}, format="json")
    assert r.status_code == 202, r.content
    return wait_job(api, f"/api/restores/{r.json()['id']}/")


def test_a_snapshot_restores_whole_and_by_path(host, engine, api_as, admin_api, repo_dir, celery_worker_proc):
    repo = make_local(admin_api, repo_dir)
    engine.volumes.create("dw-rr-src")
    fill_volume(engine, "dw-rr-src", kib=256, small=5)
    operator = api_as("operator")
    snap = snapshot(operator, "dw-rr-src", repo["id"])["snapshot"]

    # whole, into a new volume: the same names, types, modes, owners, sizes, contents and links
    done = restore(operator, repo["id"], snap, volume="dw-rr-new", create=True)
    assert done["status"] == "succeeded", done["error"]
    assert done["repository"] == repo["id"] and done["snapshot"] == snap and done["backup"] is None
    assert fingerprint(engine, "dw-rr-new") == fingerprint(engine, "dw-rr-src")

    # into a volume that holds something: refused without overwrite, nothing changed
    run_in(engine, "dw-rr-new", "echo mine > /v/file1.txt && echo extra > /v/extra.txt")
    before = fingerprint(engine, "dw-rr-new")
    refused = restore(operator, repo["id"], snap, volume="dw-rr-new")
    assert refused["status"] == "failed" and "overwrite" in refused["error"]
    assert fingerprint(engine, "dw-rr-new") == before

    # one file back, the rest of the volume left as it is (a safety backup first)
    one = restore(operator, repo["id"], snap, volume="dw-rr-new", paths=["/file1.txt"], overwrite=True)
    assert one["status"] == "succeeded", one["error"]
    assert one["paths"] == ["/file1.txt"] and one["safety_backup"]
    assert run_in(engine, "dw-rr-new", "cat /v/file1.txt /v/extra.txt", ro=True) == "this is backup test!\nextra\n"

    # paths that are not in the snapshot, or climb out of it: 400 on `paths`, no job
    for bad in (["/nosuch"], ["/sub/../../etc"]):
        r = operator.post(f"/api/repositories/{repo['id']}/snapshots/{snap}/restore/",
                          {"host": "local", "volume": "dw-rr-new", "paths": bad}, format="json")
        assert r.status_code == 400 and r.json()["field"] == "paths", r.content
    # a viewer may not restore
    r = api_as("viewer").post(f"/api/repositories/{repo['id']}/snapshots/{snap}/restore/",
                              {"host": "local", "volume": "dw-rr-x", "create": True}, format="json")
    assert r.status_code == 403


def test_the_offsite_copy_restores_after_the_local_store_and_repository_are_gone(
        host, engine, api_as, admin_api, repo_dir, sshd, settings, celery_worker_proc):
    offsite = make_sftp(admin_api, sshd, name="offsite-dr")
    r = admin_api.post("/api/repositories/", {"name": "onsite-dr", "kind": "local",
                                               "location": str(repo_dir / "onsite-dr"), "password": "a password 2",
                                               "copy_to": offsite["id"]}, format="json")
    assert r.status_code == 201, r.content
    onsite = r.json()
    engine.volumes.create("dw-dr-src")
    fill_volume(engine, "dw-dr-src", kib=128, small=5)
    operator = api_as("operator")
    assert snapshot(operator, "dw-dr-src", onsite["id"])["status"] == "succeeded"
    original = fingerprint(engine, "dw-dr-src")

    # The disaster: the local repository (and the archive store beside it) are gone.
    assert admin_api.delete(f"/api/repositories/{onsite['id']}/").status_code == 204
    shutil.rmtree(repo_dir / "onsite-dr")
    for entry in Path(settings.BACKUP_DIR).iterdir():  # every archive (the uploads' folder stays: the web's temp)
        if entry.name != ".uploads":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    engine.volumes.get("dw-dr-src").remove(force=True)

    copied = admin_api.get(f"/api/repositories/{offsite['id']}/snapshots/?volume=dw-dr-src").json()
    assert len(copied) == 1
    # The copy leads back to the job that made the original: its doors judge who may restore it.
    done = restore(operator, offsite["id"], copied[0]["id"], volume="dw-dr-src", create=True)
    assert done["status"] == "succeeded", done["error"]
    assert fingerprint(engine, "dw-dr-src") == original


def _read(response, into: bytearray | None = None) -> bytes:
    """The body of a streamed answer, read as the ASGI server reads it (an async iterator)."""
    got = into if into is not None else bytearray()

    async def read():
        async for chunk in response.streaming_content:
            got.extend(chunk)
    run_async(read())
    return bytes(got)


def test_a_snapshot_is_taken_away_as_a_plain_tar_and_imported_back(host, engine, api_as, admin_api, repo_dir,
                                                                    settings, celery_worker_proc):
    """Export: the whole snapshot as a plain tar (restic dump), streamed, in the shape of our
    archives; imported back and restored, it gives the very volume (its root's owner and mode
    too). Refusals come before any byte."""
    import io
    import tarfile

    from dockerweb.core.models import Activity
    from tests.backups.conftest import import_archive

    run_dir = Path(settings.DATA_DIR) / "restic-run"
    repo = make_local(admin_api, repo_dir)
    runs = set(run_dir.iterdir())
    fill_volume(engine, "dw-ex-src", kib=64, small=5)
    operator = api_as("operator")
    snap = snapshot(operator, "dw-ex-src", repo["id"])["snapshot"]

    r = operator.get(f"/api/repositories/{repo['id']}/snapshots/{snap}/archive/")
    assert r.status_code == 200 and r["Content-Type"] == "application/x-tar", r.content[:300]
    assert r.is_async, "served from a thread of its own, never read whole into the web worker's memory"
    assert r["Content-Disposition"] == f'attachment; filename="dw-ex-src-{snap[:8]}.tar"'
    data = _read(r)
    r.close()  # as the server does once the response is sent: restic's run folder goes
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:  # the shape of dockerweb's archives: data/…
        members = tf.getmembers()
        assert tf.extractfile("data/file1.txt").read() == b"this is backup test!\n"
    assert members[0].name == "data" and members[0].isdir() and all(m.name.startswith("data/") for m in members[1:])
    root = run_in(engine, "dw-ex-src", "stat -c '%a %u %g' /v", ro=True).split()
    assert [f"{members[0].mode:o}", str(members[0].uid), str(members[0].gid)] == root
    assert Activity.objects.filter(action="backup.download", outcome="ok", target=f"local-repo:{snap[:8]}").exists()

    imported = import_archive(operator, data, volume="dw-ex-back", strip_components=1)
    r = operator.post(f"/api/backups/{imported['id']}/restore/", {"host": "local", "volume": "dw-ex-back", "create": True},
                      format="json")
    assert r.status_code == 202, r.content
    assert wait_job(operator, f"/api/restores/{r.json()['id']}/")["status"] == "succeeded"
    assert fingerprint(engine, "dw-ex-back") == fingerprint(engine, "dw-ex-src")

    # No such snapshot: 404 in words; a viewer: 403; nothing left running or written.
    r = operator.get(f"/api/repositories/{repo['id']}/snapshots/{'0' * 8}/archive/")
    assert r.status_code == 404 and "no such snapshot" in r.json()["detail"], r.content
    r = api_as("viewer").get(f"/api/repositories/{repo['id']}/snapshots/{snap}/archive/")
    assert r.status_code == 403
    assert operator.head(f"/api/repositories/{repo['id']}/snapshots/{snap}/archive/").status_code == 405

    # restic failing midway (a damaged pack: a real fault, no fake) cuts the stream short; it
    # never ends like a complete tar.
    from dockerweb.core.errors import AppError

    engine.volumes.create("dw-ex-bad")
    run_in(engine, "dw-ex-bad", "echo first > /v/a-first.txt && head -c 8388608 /dev/urandom > /v/z-big.bin")
    bad = snapshot(operator, "dw-ex-bad", repo["id"])["snapshot"]
    for pack in (repo_dir / "local-repo" / "data").rglob("*"):
        if pack.is_file() and pack.stat().st_size > 1 << 20:  # the big file's blobs, not the first file's
            pack.chmod(0o600)
            with open(pack, "r+b") as f:
                f.seek(pack.stat().st_size // 2)
                f.write(bytes(4096))
    r = operator.get(f"/api/repositories/{repo['id']}/snapshots/{bad}/archive/")
    assert r.status_code == 200, r.content[:300]
    got = bytearray()
    with pytest.raises(AppError) as failed:
        _read(r, into=got)
    r.close()
    assert "ciphertext verification failed" in failed.value.message or "restic failed" in failed.value.message
    assert len(got) < 8 << 20  # not even the big file came whole
    assert set(run_dir.iterdir()) <= runs, "the secrets of every run are removed"
