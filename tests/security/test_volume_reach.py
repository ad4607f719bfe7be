"""Doors 5 and 8 of the trust issue: volumes inherit the risk of who mounts them.

Found: an operator could mount the volume of a privileged (or host-namespace, or bind-holding)
container and write what that container executes; restoring into such a volume with
`overwrite` was the same door; and the archives of such volumes (and of volumes whose options
bind a host path) could be downloaded or restored elsewhere by operators, because download and
restore skipped the check that starting the backup applied. One judge
(`containers.safety.volume_doors` → `core.permissions.may`) now decides mount, backup, restore,
download (and browse), and a backup carries the doors its volume had."""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from django.conf import settings

from dockerweb.core.models import Activity
from tests.backups.conftest import IMAGE, fingerprint, import_archive, run_in, wait_job
from tests.support import procs

pytestmark = pytest.mark.django_db(transaction=True)


def _entry_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        body = b"echo run by whoever wrote this\n"
        m = tarfile.TarInfo("data/entry.sh")
        m.size, m.mode = len(body), 0o755
        tf.addfile(m, io.BytesIO(body))
    return buf.getvalue()


def _backup(api, volume):
    r = api.post(f"/api/hosts/local/volumes/{volume}/backups/", {"compression": "none"}, format="json")
    assert r.status_code == 202, r.content
    done = wait_job(api, f"/api/backups/{r.json()['id']}/")
    assert done["status"] == "succeeded", done
    return done


@pytest.fixture
def privileged_volume(engine):
    """A privileged container (made by an admin) runs what its volume holds. (Created, not
    started: the test machines cannot start privileged containers; a stopped one counts the same.)"""
    engine.volumes.create("reach-privvol")
    run_in(engine, "reach-privvol", "echo 'echo trusted' > /v/entry.sh; chmod 755 /v/entry.sh")
    engine.containers.create(IMAGE, ["sh", "/data/entry.sh"], name="reach-priv", privileged=True,
                             network_mode="none", volumes={"reach-privvol": {"bind": "/data", "mode": "rw"}})
    return "reach-privvol"


def test_the_volume_of_a_privileged_container_is_the_admins(celery_worker_proc, host, engine, api_as,
                                                            privileged_volume):
    from dockerweb.backups.models import Backup, Restore

    operator, admin = api_as("operator"), api_as("admin")
    before = fingerprint(engine, privileged_volume)

    r = operator.post(f"/api/hosts/local/volumes/{privileged_volume}/backups/", {}, format="json")
    assert r.status_code == 403 and "privileged" in r.json()["detail"], r.content
    imported = import_archive(operator, _entry_tar(), volume="evil-entry")
    r = operator.post(f"/api/backups/{imported['id']}/restore/",
                      {"host": "local", "volume": privileged_volume, "overwrite": True}, format="json")
    assert r.status_code == 403 and "privileged" in r.json()["detail"], r.content
    assert not Restore.objects.filter(volume=privileged_volume).exists()
    assert fingerprint(engine, privileged_volume) == before

    # The admin's backup records the door; the operator may take the archive neither away nor elsewhere.
    done = _backup(admin, privileged_volume)
    assert [d[0] for d in Backup.objects.get(pk=done["id"]).doors] == ["container.privileged"]
    r = operator.get(f"/api/backups/{done['id']}/download/")
    assert r.status_code == 403 and "privileged" in r.json()["detail"], r.content
    assert Activity.objects.filter(action="backup.download", outcome="refused").exists()
    r = operator.post(f"/api/backups/{done['id']}/restore/", {"host": "local", "volume": "reach-copy",
                                                               "create": True}, format="json")
    assert r.status_code == 403, r.content
    assert "reach-copy" not in [v.name for v in engine.volumes.list()]
    r = admin.get(f"/api/backups/{done['id']}/download/")
    assert r.status_code == 200 and r["X-Checksum-SHA256"] == done["archive"]["sha256"]
    b"".join(r.streaming_content)
    assert Activity.objects.filter(action="backup.download", outcome="ok").exists()


def test_a_restore_is_judged_again_when_it_runs(celery_worker_proc, host, engine, api_as):
    """Queued while the volume was harmless; by the time the worker takes it, a privileged
    container mounts the volume. The worker judges the operator again: refused, untouched."""
    from dockerweb.celery import app

    operator = api_as("operator")
    imported = import_archive(operator, _entry_tar(), volume="evil-entry")
    engine.volumes.create("reach-later")
    run_in(engine, "reach-later", "echo 'echo trusted' > /v/entry.sh")
    before = fingerprint(engine, "reach-later")
    worker = procs.worker_name()
    app.control.cancel_consumer("celery", destination=[worker], reply=True, timeout=5)
    try:
        r = operator.post(f"/api/backups/{imported['id']}/restore/",
                          {"host": "local", "volume": "reach-later", "overwrite": True}, format="json")
        assert r.status_code == 202, r.content
        engine.containers.create(IMAGE, "sleep 300", name="reach-later-priv", privileged=True, network_mode="none",
                                 volumes={"reach-later": {"bind": "/data", "mode": "rw"}})
    finally:
        app.control.add_consumer("celery", destination=[worker], reply=True, timeout=5)
    done = wait_job(operator, f"/api/restores/{r.json()['id']}/")
    assert done["status"] == "failed" and "privileged" in done["error"], done
    assert fingerprint(engine, "reach-later") == before


def test_the_archive_of_a_bind_backed_volume_stays_with_admins(celery_worker_proc, host, engine, api_as):
    """Door 8: an admin's backup of a volume whose options bind a host folder holds the host's
    files; an operator may not download it nor restore it anywhere."""
    folder = Path(settings.BIND_ALLOWLIST[0]) / "reach-bind"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "host-secret.txt").write_text("from the host\n")
    engine.volumes.create("reach-bindish", driver="local",
                          driver_opts={"type": "none", "o": "bind", "device": str(folder)})
    operator, admin = api_as("operator"), api_as("admin")
    done = _backup(admin, "reach-bindish")
    r = operator.get(f"/api/backups/{done['id']}/download/")
    assert r.status_code == 403 and "bind" in r.json()["detail"], r.content
    r = operator.post(f"/api/backups/{done['id']}/restore/", {"host": "local", "volume": "reach-stolen",
                                                               "create": True}, format="json")
    assert r.status_code == 403, r.content
    assert "reach-stolen" not in [v.name for v in engine.volumes.list()]
    r = admin.post(f"/api/backups/{done['id']}/restore/", {"host": "local", "volume": "reach-copy", "create": True},
                   format="json")
    assert wait_job(admin, f"/api/restores/{r.json()['id']}/")["status"] == "succeeded"
    assert run_in(engine, "reach-copy", "cat /v/host-secret.txt") == "from the host\n"
