"""Snapshots when things break: the SFTP server going away mid-snapshot, the worker killed with
-9 mid-snapshot, and an offsite copy. A failed snapshot leaves nothing that shows as a
snapshot, the repository still passes `restic check`, and the next snapshot succeeds."""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path

import pytest

from tests.support.procs import start_worker, wait_for
from tests.support.sshd import Sshd

from .conftest import fill_volume, make_local, make_sftp, snapshot, wait_job

pytestmark = pytest.mark.django_db(transaction=True)


def _snapshots(api, repo_id: int) -> list[dict]:
    r = api.get(f"/api/repositories/{repo_id}/snapshots/")
    assert r.status_code == 200, r.content
    return r.json()


def _checked(repo_id: int):
    from dockerweb.repositories.models import Repository
    from dockerweb.repositories.services import repository_check

    return repository_check(repository=Repository.objects.get(pk=repo_id))


def test_the_sftp_server_going_away_mid_snapshot_fails_the_job_cleanly(host, engine, admin_api, settings):
    from dockerweb.backups.models import Backup
    from dockerweb.backups.services import backup_create, backup_execute
    from dockerweb.core.jobs import job_claim
    from dockerweb.repositories.models import Repository

    folder = Path(tempfile.mkdtemp(prefix="dw-sshd-away-"))
    server = Sshd(folder / "srv").start()
    try:
        repo = make_sftp(admin_api, server, name="away")
        engine.volumes.create("dw-repo-away")
        fill_volume(engine, "dw-repo-away", kib=24 * 1024, small=5)
        settings.BACKUP_BWLIMIT = 2_000_000  # about 12 s for the volume: time to pull the plug
        job = backup_create(host=host, volume="dw-repo-away", repository=Repository.objects.get(pk=repo["id"]),
                            enqueue=False)
        claimed, _ = job_claim(Backup, job.pk)
        runner = threading.Thread(target=backup_execute, args=(claimed,))
        runner.start()
        wait_for(lambda: Backup.objects.get(pk=job.pk).bytes_done > 0, timeout=30, interval=0.1,
                 message="the snapshot to be under way")
        server.stop()
        runner.join(60)
        assert not runner.is_alive()
        row = Backup.objects.get(pk=job.pk)
        assert row.status == "failed" and row.snapshot == ""
        assert "cannot be reached" in row.error, row.error

        server.start()
        settings.BACKUP_BWLIMIT = 0
        assert _snapshots(admin_api, repo["id"]) == []  # nothing half-written shows as a snapshot
        assert _checked(repo["id"]).last_check_ok is True
        job = backup_create(host=host, volume="dw-repo-away", repository=Repository.objects.get(pk=repo["id"]),
                            enqueue=False)
        claimed, _ = job_claim(Backup, job.pk)
        assert backup_execute(claimed).status == "succeeded", claimed.error
        assert [s["short_id"] for s in _snapshots(admin_api, repo["id"])] == [claimed.snapshot]
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_worker_killed_mid_snapshot_leaves_no_snapshot_and_the_next_run_succeeds(host, engine, admin_api, api_as,
                                                                                   repo_dir, monkeypatch, settings,
                                                                                   celery_worker_proc):
    from dockerweb.backups.models import Backup
    from dockerweb.backups.services import backup_create, job_reap
    from dockerweb.backups.tasks import backup_run_task
    from dockerweb.repositories.models import Repository

    repo = make_local(admin_api, repo_dir)
    engine.volumes.create("dw-repo-kill")
    fill_volume(engine, "dw-repo-kill", kib=24 * 1024, small=5)
    monkeypatch.setenv("DOCKERWEB_BACKUP_BWLIMIT", str(2_000_000))
    queue = f"snap-kill-{os.getpid()}"
    proc = start_worker(name="snap-kill", concurrency=1, queues=queue)
    monkeypatch.delenv("DOCKERWEB_BACKUP_BWLIMIT")
    try:
        job = backup_create(host=host, volume="dw-repo-kill", repository=Repository.objects.get(pk=repo["id"]),
                            enqueue=False)
        backup_run_task.apply_async(args=[job.pk], queue=queue)
        wait_for(lambda: Backup.objects.get(pk=job.pk).bytes_done > 0, timeout=60, interval=0.1,
                 message="the snapshot to be under way")
        runs = set((Path(settings.DATA_DIR) / "restic-run").iterdir())  # the running job's secrets among them
        os.killpg(proc.pid, signal.SIGKILL)
        proc.popen.wait(10)
    finally:
        proc.stop()
    # restic died with its worker (nothing goes on writing behind the reaper's back)
    wait_for(lambda: not any("restic" in _cmdline(p) and str(repo_dir) in _cmdline(p) for p in _pids()),
             timeout=10, message="the killed worker's restic to end")
    assert wait_for(job_reap, timeout=20, interval=0.2, message="the reaper to find the job") == [f"backup-{job.pk}"]
    row = Backup.objects.get(pk=job.pk)
    assert row.status == "failed" and row.snapshot == "" and "worker" in row.error
    assert _snapshots(admin_api, repo["id"]) == []
    assert (repo_dir / "local-repo" / "locks").exists() and any((repo_dir / "local-repo" / "locks").iterdir()), \
        "the killed restic left its lock (the next run must cope)"

    # The killed job never removed its run folder (the password file): a later run does.
    import re

    from dockerweb.repositories.restic import _alive

    left = [p for p in runs if not _alive(int(re.search(r"-(\d+)-\w+$", p.name).group(1)))]
    assert left, "the killed job had a run folder of its own"
    done = snapshot(api_as("operator"), "dw-repo-kill", repo["id"])
    assert done["status"] == "succeeded", done["error"]
    assert [s["short_id"] for s in _snapshots(admin_api, repo["id"])] == [done["snapshot"]]
    assert _checked(repo["id"]).last_check_ok is True
    assert not [p for p in left if p.exists()], "a dead worker's secrets are removed by the next run"


def test_an_offsite_copy_receives_every_snapshot(host, engine, admin_api, api_as, repo_dir, sshd, celery_worker_proc):
    offsite = make_sftp(admin_api, sshd, name="offsite")
    r = admin_api.post("/api/repositories/", {"name": "onsite", "kind": "local", "location": str(repo_dir / "onsite"),
                                               "password": "another password", "copy_to": offsite["id"]}, format="json")
    assert r.status_code == 201, r.content
    onsite = r.json()
    assert onsite["copy_to"] == offsite["id"]
    engine.volumes.create("dw-repo-copy")
    fill_volume(engine, "dw-repo-copy", kib=128, small=3)
    done = snapshot(api_as("operator"), "dw-repo-copy", onsite["id"])
    assert done["status"] == "succeeded", done["error"]
    copied = _snapshots(admin_api, offsite["id"])
    assert len(copied) == 1 and copied[0]["volume"] == "dw-repo-copy" and copied[0]["host"] == "local"
    # A copy does not copy further, and a repository does not copy to itself.
    r = admin_api.patch(f"/api/repositories/{offsite['id']}/", {"copy_to": onsite["id"]}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "copy_to"
    r = admin_api.patch(f"/api/repositories/{onsite['id']}/", {"copy_to": onsite["id"]}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "copy_to"


def _pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
