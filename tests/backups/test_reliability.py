"""A killed worker, a failing backup, a cancel, a duplicate delivery: nothing is lost, nothing
is left paused or stopped, and no file looks like a complete archive unless it is one."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.procs import start_worker, wait_for

from .conftest import fill_volume, wait_job

pytestmark = pytest.mark.django_db(transaction=True)
IMAGE = "dockerweb-test/busybox:latest"


def _slow_worker(monkeypatch, name):
    """A worker of our own, on its own queue, moving at most 2 MB/s (DOCKERWEB_BACKUP_BWLIMIT)."""
    monkeypatch.setenv("DOCKERWEB_BACKUP_BWLIMIT", str(2_000_000))
    queue = f"{name}-{os.getpid()}"
    proc = start_worker(name=name, concurrency=1, queues=queue)
    monkeypatch.delenv("DOCKERWEB_BACKUP_BWLIMIT")
    return proc, queue


def _queued_backup(host, volume, consistency="none"):
    from dockerweb.backups.services import backup_create

    return backup_create(host=host, volume=volume, consistency=consistency, enqueue=False)


def test_worker_killed_mid_backup_leaves_no_complete_archive_and_job_fails(host, engine, monkeypatch):
    from dockerweb.backups.models import Backup
    from dockerweb.backups.services import job_reap
    from dockerweb.backups.tasks import backup_run_task

    fill_volume(engine, "kill-src", kib=16 * 1024, small=5)
    app = engine.containers.run(IMAGE, ["sleep", "600"], name="kill-app", detach=True, network_mode="none",
                                volumes={"kill-src": {"bind": "/data", "mode": "rw"}})
    proc, queue = _slow_worker(monkeypatch, "bak-kill")
    try:
        backup = _queued_backup(host, "kill-src", consistency="pause")
        backup_run_task.apply_async(args=[backup.pk], queue=queue)
        wait_for(lambda: Backup.objects.get(pk=backup.pk).bytes_done > 2_000_000, timeout=60, interval=0.1,
                 message="the backup to be under way")
        row = Backup.objects.get(pk=backup.pk)
        assert row.status == "running" and row.held_containers and row.tmp_path
        app.reload()
        assert app.status == "paused"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.popen.wait(10)
    finally:
        proc.stop()

    row = Backup.objects.get(pk=backup.pk)
    folder = Path(settings.BACKUP_DIR) / "local" / "kill-src"
    complete = [p for p in folder.glob("*") if not p.name.startswith(".")]
    assert complete == [], f"a killed backup must not leave a complete-looking archive: {complete}"
    assert Path(row.tmp_path).exists(), "the partial file is under its temporary name"

    # the reaper (beat, every minute, and every worker at start) finds the dead worker's job
    # (the pool process may outlive its parent by a moment: the reaper waits until it is gone)
    assert wait_for(job_reap, timeout=20, interval=0.2, message="the reaper to find the job") == [f"backup-{backup.pk}"]
    row.refresh_from_db()
    assert row.status == "failed" and "worker" in row.error and row.path == ""
    assert not Path(row.tmp_path).exists()
    assert not engine.containers.list(all=True, filters={"label": "dockerweb.job"})
    app.reload()
    assert app.status == "running", "the paused container is unpaused"
    assert job_reap() == []


def test_stop_consistency_restarts_containers_even_when_the_backup_fails(celery_worker_proc, host, engine, operator):
    fill_volume(engine, "stop-src", kib=64, small=3)
    app = engine.containers.run(IMAGE, ["sleep", "600"], name="stop-app", detach=True, network_mode="none",
                                volumes={"stop-src": {"bind": "/data", "mode": "rw"}})
    started_before = app.attrs["State"]["StartedAt"]
    # A real fault: the archive store's folder for this volume is a file, so writing fails.
    blocker = Path(settings.BACKUP_DIR) / "local" / "stop-src"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("in the way")
    try:
        r = operator.post("/api/hosts/local/volumes/stop-src/backups/", {"consistency": "stop"}, format="json")
        done = wait_job(operator, f"/api/backups/{r.json()['id']}/")
    finally:
        blocker.unlink()
    assert done["status"] == "failed" and "archive store" in done["error"], done
    app.reload()
    assert app.status == "running"
    assert app.attrs["State"]["StartedAt"] != started_before, "it was stopped for the copy and started again"

    # and when it works, the container is stopped during the copy and running afterwards
    r = operator.post("/api/hosts/local/volumes/stop-src/backups/", {"consistency": "stop"}, format="json")
    done = wait_job(operator, f"/api/backups/{r.json()['id']}/")
    assert done["status"] == "succeeded", done["error"]
    app.reload()
    assert app.status == "running"


def test_cancel_a_running_backup(host, engine, monkeypatch, operator):
    from dockerweb.backups.models import Backup
    from dockerweb.backups.tasks import backup_run_task

    fill_volume(engine, "cancel-src", kib=16 * 1024, small=3)
    proc, queue = _slow_worker(monkeypatch, "bak-cancel")
    try:
        backup = _queued_backup(host, "cancel-src")
        backup_run_task.apply_async(args=[backup.pk], queue=queue)
        wait_for(lambda: Backup.objects.get(pk=backup.pk).bytes_done > 1_000_000, timeout=60, interval=0.1,
                 message="the backup to be under way")
        r = operator.post(f"/api/backups/{backup.pk}/cancel/")
        assert r.status_code == 200, r.content
        done = wait_job(operator, f"/api/backups/{backup.pk}/", timeout=30)
        assert done["status"] == "cancelled"
        folder = Path(settings.BACKUP_DIR) / "local" / "cancel-src"
        assert list(folder.glob("*")) == []
        assert not engine.containers.list(all=True, filters={"label": "dockerweb.job"})
    finally:
        proc.stop()


def test_a_job_delivered_twice_runs_once(celery_worker_proc, host, engine):
    from dockerweb.backups.models import Backup
    from dockerweb.backups.tasks import backup_run_task

    fill_volume(engine, "twice-src", kib=4096, small=3)
    backup = _queued_backup(host, "twice-src")
    first = backup_run_task.apply_async(args=[backup.pk])
    second = backup_run_task.apply_async(args=[backup.pk])
    results = sorted([first.get(timeout=60), second.get(timeout=60)])
    assert results[1] == "succeeded" and results[0].startswith("skipped"), results
    row = Backup.objects.get(pk=backup.pk)
    assert row.attempts == 1
    folder = Path(settings.BACKUP_DIR) / "local" / "twice-src"
    assert len([p for p in folder.glob("*.tar.zst")]) == 1


def test_a_redelivered_job_of_a_dead_worker_is_taken_over_and_retried_within_the_cap(celery_worker_proc, host, engine):
    """What a worker killed mid-job leaves (a row `running` under a pid that is gone, a helper
    container) is cleaned up by the redelivered task, which then runs the job again."""
    from django.utils import timezone

    from dockerweb.core.jobs import MAX_ATTEMPTS
    from dockerweb.backups.models import Backup
    from dockerweb.backups.tasks import backup_run_task
    from dockerweb.engine import archives

    fill_volume(engine, "redo-src", kib=64, small=3)
    backup = _queued_backup(host, "redo-src")
    dead = "no-such-machine:1"
    Backup.objects.filter(pk=backup.pk).update(status="running", claimed_by=dead, attempts=1,
                                               heartbeat=timezone.now() - timezone.timedelta(hours=1))
    archives.helper_create(host, job_key=backup.job_key, mounts={"redo-src": ("/data", True)})
    assert backup_run_task.delay(backup.pk).get(timeout=60) == "succeeded"
    row = Backup.objects.get(pk=backup.pk)
    assert row.status == "succeeded" and row.attempts == 2
    assert not engine.containers.list(all=True, filters={"label": "dockerweb.job"})

    # past the cap it is failed instead of run again
    other = _queued_backup(host, "redo-src")
    Backup.objects.filter(pk=other.pk).update(status="running", claimed_by=dead, attempts=MAX_ATTEMPTS,
                                              heartbeat=timezone.now() - timezone.timedelta(hours=1))
    assert backup_run_task.delay(other.pk).get(timeout=60) == "failed"
    row = Backup.objects.get(pk=other.pk)
    assert row.status == "failed" and "gave up" in row.error
