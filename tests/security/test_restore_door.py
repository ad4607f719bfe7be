"""Door 1 of the trust issue: root writes anywhere on the host through a restore.

The attack as it was found: the staging volume of a restore was named
`dockerweb-staging-restore-<pk>`, the engine hands back an existing volume of that name, and
GNU tar followed a link already on disk. An operator ran a container with
`-v dockerweb-staging-restore-<next pk>:/v1` that made `/v1/d -> <host folder>`, imported a tar
holding `d/pwned.txt` (no `d/` member) and restored it into a new empty volume: the file
appeared in the host folder, owned by root. Here the same steps, and the proof they fail; then
the other ways to steer a restore (mount its staging or new volume while it runs, plant the
target before the restore creates it)."""
from __future__ import annotations

import io
import os
import tarfile
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.backups.conftest import import_archive, run_in, wait_job
from tests.support import procs

pytestmark = pytest.mark.django_db(transaction=True)


def _pwn_tar(payload: bytes = b"pwned\n") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        m = tarfile.TarInfo("d/pwned.txt")
        m.size, m.mode, m.uid, m.gid = len(payload), 0o4755, 0, 0
        tf.addfile(m, io.BytesIO(payload))
    return buf.getvalue()


@pytest.fixture
def host_folder():
    """A folder of the host, outside every volume (the engine shares this machine's files)."""
    d = Path(settings.DATA_DIR) / f"host-folder-{os.getpid()}-{time.monotonic_ns()}"
    d.mkdir()
    return d


def _wait_exited(engine, name: str) -> None:
    procs.wait_for(lambda: engine.containers.get(name).status == "exited", timeout=20, message=f"{name} to exit")


def test_a_prepared_staging_volume_cannot_steer_a_restore(celery_worker_proc, host, engine, run, host_folder):
    operator = run.client("operator")
    imported = import_archive(operator, _pwn_tar(), volume="pwn", strip_components=0)
    engine.volumes.create("door1-target")  # a new, empty volume: the restore stages into another one
    # The repro as written: plant `d -> host folder` in the volume the next restore would have
    # used. Restore ids are visible to everyone; the attacker learns the last one by making one.
    warmup = operator.post(f"/api/backups/{imported['id']}/restore/",
                           {"host": "local", "volume": "door1-warmup", "create": True}, format="json")
    assert warmup.status_code == 202, warmup.content
    wait_job(operator, f"/api/restores/{warmup.json()['id']}/")
    next_pk = warmup.json()["id"] + 1
    planted = f"dockerweb-staging-restore-{next_pk}"
    r = run("operator", name="planter", command=f"ln -s {host_folder} /v1/d", volumes=[f"{planted}:/v1"])
    assert r.status_code == 201, r.content
    _wait_exited(engine, "planter")

    r = operator.post(f"/api/backups/{imported['id']}/restore/", {"host": "local", "volume": "door1-target"},
                      format="json")
    assert r.status_code == 202, r.content
    assert r.json()["id"] == next_pk
    done = wait_job(operator, f"/api/restores/{next_pk}/")

    # The proof: nothing in the host folder; the restore used a staging volume of its own.
    assert list(host_folder.iterdir()) == []
    assert done["status"] == "succeeded", done
    assert run_in(engine, "door1-target", "cat /v/d/pwned.txt; stat -c '%a %u' /v/d/pwned.txt") == "pwned\n4755 0\n"
    assert run_in(engine, planted, "ls -A /v; readlink /v/d") == f"d\n{host_folder}\n"
    assert not [v.name for v in engine.volumes.list() if v.name.startswith("dockerweb-staging-")
                and v.name != planted]


def test_staging_names_are_unguessable_and_created_exclusively(host, engine):
    from dockerweb.core.errors import Conflict
    from dockerweb.engine import archives

    names = {archives.staging_volume_name() for _ in range(50)}
    assert len(names) == 50 and all(len(n) >= len("dockerweb-staging-") + 32 for n in names)
    # A volume that exists already is an error, never reused (the engine would hand it back).
    engine.volumes.create("door1-exists", labels={"mine": "yes"})
    run_in(engine, "door1-exists", "echo keep > /v/keep")
    with pytest.raises(Conflict, match="already exists"):
        archives.volume_create_exclusive(host, name="door1-exists", labels={archives.JOB_LABEL: "restore-0"})
    assert engine.volumes.get("door1-exists").attrs["Labels"] == {"mine": "yes"}
    archives.volume_create_exclusive(host, name="door1-fresh", labels={archives.JOB_LABEL: "restore-0"})
    assert engine.volumes.get("door1-fresh").attrs["Labels"][archives.JOB_LABEL] == "restore-0"


def test_a_target_planted_before_the_restore_creates_it_is_not_written_through(celery_worker_proc, host, engine,
                                                                               run, host_folder):
    """create=True: the volume did not exist when the restore was asked for; someone makes it,
    with a planted link, before the worker runs. The worker treats it as the existing volume it
    now is: not empty, so refused without `overwrite`; with it, staged and replaced, and the
    link is never followed."""
    from dockerweb.celery import app

    operator = run.client("operator")
    imported = import_archive(operator, _pwn_tar(), volume="pwn", strip_components=0)
    # Hold the restores in the queue while the volume is planted: the session's worker stops
    # taking tasks for a moment (a real Celery control command), then takes them again.
    worker = procs.worker_name()
    app.control.cancel_consumer("celery", destination=[worker], reply=True, timeout=5)
    try:
        asked = [operator.post(f"/api/backups/{imported['id']}/restore/",
                               {"host": "local", "volume": "door1-late", "create": True, "overwrite": overwrite},
                               format="json") for overwrite in (False, True)]
        assert [r.status_code for r in asked] == [202, 202], [r.content for r in asked]
        r = run("operator", name="late-planter", command=f"ln -s {host_folder} /v1/d", volumes=["door1-late:/v1"])
        assert r.status_code == 201, r.content
        _wait_exited(engine, "late-planter")
    finally:
        app.control.add_consumer("celery", destination=[worker], reply=True, timeout=5)
    first, second = (wait_job(operator, f"/api/restores/{r.json()['id']}/") for r in asked)
    assert first["status"] == "failed" and "not empty" in first["error"], first
    assert second["status"] == "succeeded", second
    assert list(host_folder.iterdir()) == []
    assert run_in(engine, "door1-late", "ls -A /v; cat /v/d/pwned.txt; [ -L /v/d ] || echo real") == \
        "d\npwned\nreal\n"


def test_nobody_mounts_a_staging_volume_or_a_volume_a_restore_writes(celery_worker_proc, host, engine, run, tmp_path):
    """While a restore runs (a worker of its own, slowed by DOCKERWEB_BACKUP_BWLIMIT, so it runs
    long enough to be watched), its staging volume and a volume it creates are visible to
    everyone in the volume list — and nobody, not even an admin, may mount them."""
    from dockerweb.celery import app

    operator = run.client("operator")
    big = tmp_path / "big.tar"
    with tarfile.open(big, "w") as tf:
        data = os.urandom(4 << 20)
        m = tarfile.TarInfo("data/big.bin")
        m.size = len(data)
        tf.addfile(m, io.BytesIO(data))
    with open(big, "rb") as f:
        imported = import_archive(operator, f, volume="big")
    session_worker = procs.worker_name()
    slow = None
    app.control.cancel_consumer("celery", destination=[session_worker], reply=True, timeout=5)
    try:
        slow = procs.start_worker(name="slow-restorer", concurrency=1, DOCKERWEB_BACKUP_BWLIMIT=str(1 << 20))
        engine.volumes.create("door1-busy")
        run_in(engine, "door1-busy", "echo old > /v/old")
        restores = [
            operator.post(f"/api/backups/{imported['id']}/restore/",
                          {"host": "local", "volume": "door1-busy", "overwrite": True}, format="json").json(),
        ]
        staging = procs.wait_for(lambda: [v.name for v in engine.volumes.list()
                                          if v.name.startswith("dockerweb-staging-")], timeout=30,
                                 message="the staging volume")[0]
        for role in ("operator", "admin"):
            r = run(role, name=f"peek-{role}", command="sleep 30", volumes=[f"{staging}:/s"])
            assert r.status_code == 409 and "staging volume" in r.json()["detail"], r.content
        restores.append(operator.post(f"/api/backups/{imported['id']}/restore/",
                                      {"host": "local", "volume": "door1-new", "create": True}, format="json").json())
        procs.wait_for(lambda: "door1-new" in [v.name for v in engine.volumes.list()], timeout=30,
                       message="the new volume")
        for role in ("operator", "admin"):
            r = run(role, name=f"peek-new-{role}", command="sleep 30", mounts=[{"source": "door1-new", "target": "/n"}])
            assert r.status_code == 409 and "being written by restore-" in r.json()["detail"], r.content
        assert not [c for c in engine.containers.list(all=True) if c.name.startswith("peek-")]
        for job in restores:
            done = wait_job(operator, f"/api/restores/{job['id']}/", timeout=120)
            assert done["status"] == "succeeded", done
    finally:
        app.control.add_consumer("celery", destination=[session_worker], reply=True, timeout=5)
        if slow is not None:
            slow.stop()
    # Once the restore has ended, the volume it made is an ordinary volume again.
    r = run("operator", name="after", command="sleep 30", volumes=["door1-new:/n"])
    assert r.status_code == 201, r.content
