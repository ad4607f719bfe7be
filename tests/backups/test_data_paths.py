"""The two data paths of backups and restores: in place, for local volumes of an engine on this
machine, and the engine's archive endpoint for everything else (remote engines, volumes whose
driver or options keep the data elsewhere). Both are exercised against the real engine."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.procs import start_worker, wait_for

from .conftest import fill_volume, fingerprint, run_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_in_place_only_for_plain_local_volumes_of_this_machines_engine(host, engine, settings):
    from dockerweb.engine.archives import volume_local_dir
    from dockerweb.inventory.models import Host

    engine.volumes.create("dp-plain")
    engine.volumes.create("dp-tmpfs", driver="local", driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=8m"})
    folder = volume_local_dir(host, "dp-plain")
    assert folder == Path(engine.api.inspect_volume("dp-plain")["Mountpoint"]) and folder.is_dir()
    # a volume with options is a mount that exists only inside the engine, and only while in use
    assert volume_local_dir(host, "dp-tmpfs") is None
    # an engine reached over TCP is on another machine as far as we can tell
    assert volume_local_dir(Host(name="far", url="tcp://127.0.0.1:9"), "dp-plain") is None
    settings.BACKUP_DIRECT = False  # DOCKERWEB_BACKUP_DIRECT=off
    assert volume_local_dir(host, "dp-plain") is None


def test_the_engine_archive_path_backs_up_and_restores_identically(host, engine, monkeypatch):
    """A worker told not to use volumes in place (DOCKERWEB_BACKUP_DIRECT=off) goes through the
    engine, as it must for a remote engine: backup, restore into a new volume, and restore over
    a non-empty volume (staging volume, safety backup, copy) all give identical files."""
    from dockerweb.backups.models import Backup, Restore
    from dockerweb.backups.services import backup_create
    from dockerweb.backups.tasks import backup_run_task, restore_run_task

    fill_volume(engine, "ep-src")
    before = fingerprint(engine, "ep-src")
    engine.volumes.create("ep-old")
    run_in(engine, "ep-old", "echo previous > /v/previous.txt")
    monkeypatch.setenv("DOCKERWEB_BACKUP_DIRECT", "off")
    queue = f"engine-path-{os.getpid()}"
    proc = start_worker(name="engine-path", concurrency=1, queues=queue)
    monkeypatch.delenv("DOCKERWEB_BACKUP_DIRECT")

    def ended(model, pk):
        row = wait_for(lambda: (r := model.objects.get(pk=pk)).status in ("succeeded", "failed", "cancelled") and r,
                       timeout=90, interval=0.2, message=f"{model.__name__} {pk} to end")
        assert row.status == "succeeded", row.error
        return row

    try:
        backup = backup_create(host=host, volume="ep-src", enqueue=False)
        backup_run_task.apply_async(args=[backup.pk], queue=queue)
        backup = ended(Backup, backup.pk)
        entries = [json.loads(line) for line in (Path(settings.BACKUP_DIR) / backup.manifest_path).read_text().splitlines()]
        assert any(e["path"].endswith("sub/secret.key") and len(e["blake3"]) == 64 for e in entries)

        for target, create in (("ep-new", True), ("ep-old", False)):
            restore = Restore.objects.create(backup=backup, host=host, host_name=host.name, volume=target, create=create,
                                             overwrite=not create, strip_components=backup.strip_components)
            restore_run_task.apply_async(args=[restore.pk], queue=queue)
            restore = ended(Restore, restore.pk)
            assert fingerprint(engine, target) == before
        assert restore.safety_backup is not None and restore.safety_backup.status == "succeeded"
        log = proc.log_path.read_text(errors="replace")
        assert "streamed by the engine's archive endpoint" in log and "through the engine's archive endpoint" in log
        assert "in place" not in log
    finally:
        proc.stop()
    assert not engine.containers.list(all=True, filters={"label": "dockerweb.job"})
    assert not [v for v in engine.volumes.list() if v.name.startswith("dockerweb-staging")]
