"""Pages and permissions of the backups app (server-rendered, Django's test client)."""
from __future__ import annotations

import pytest

from .conftest import fill_volume, wait_job

pytestmark = pytest.mark.django_db(transaction=True)


def _client(make_user, role, username):
    from django.test import Client

    user = make_user(role, username)
    c = Client()
    assert c.login(username=user.username, password=user.test_password)
    return c


def test_viewer_cannot_back_up_and_the_refusal_is_logged(host, engine, api_as):
    from dockerweb.core.models import Activity

    engine.volumes.create("perm-vol")
    viewer = api_as("viewer")
    r = viewer.post("/api/hosts/local/volumes/perm-vol/backups/", {}, format="json")
    assert r.status_code == 403 and "operator" in r.json()["detail"]
    assert Activity.objects.filter(action="backup.create", outcome="refused", target="perm-vol").exists()
    assert viewer.get("/api/backups/").status_code == 200
    r = api_as("operator").post("/api/hosts/local/volumes/no-such-vol/backups/", {}, format="json")
    assert r.status_code == 404 and r.json()["field"] == "volume"
    r = api_as("operator", "op2").post("/api/hosts/local/volumes/perm-vol/backups/", {"consistency": "freeze"},
                                       format="json")
    assert r.status_code == 400 and "consistency" in r.json()["errors"]


def test_backups_page_starts_a_backup_and_shows_it(celery_worker_proc, host, engine, make_user):
    from dockerweb.backups.models import Backup
    from dockerweb.inventory.services import volume_sync

    fill_volume(engine, "page-vol", kib=16, small=2)
    volume_sync(host=host, name="page-vol")
    c = _client(make_user, "operator", "page-op")
    page = c.get("/backups/?host=local")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Back up a volume" in html and 'value="page-vol"' in html and "Import an archive" in html
    # Which host a new backup is taken on, said in a sentence (issue 17: not "Backups start on local").
    assert "New backups are taken on host <b>local</b>." in html and "start on local" not in html
    r = c.post("/backups/start/", {"host": "local", "volume": "page-vol", "compression": "gzip", "consistency": "none"})
    backup = Backup.objects.get(volume="page-vol")
    assert r.status_code == 302 and r["Location"] == f"/backups/{backup.pk}/"
    detail = c.get(r["Location"]).content.decode()
    assert f'data-job="backup-{backup.pk}"' in detail and f'data-api="/api/backups/{backup.pk}/"' in detail

    done = wait_job(c, f"/api/backups/{backup.pk}/")
    assert done["status"] == "succeeded"
    listing = c.get("/backups/?host=local").content.decode()
    assert f'href="/backups/{backup.pk}/"' in listing and "succeeded" in listing
    detail = c.get(f"/backups/{backup.pk}/").content.decode()
    assert done["archive"]["sha256"] in detail and "Restore" in detail and "data/file1.txt" in detail

    # a viewer sees it but gets no forms
    v = _client(make_user, "viewer", "page-viewer")
    html = v.get("/backups/?host=local").content.decode()
    assert "Back up a volume" not in html and f'href="/backups/{backup.pk}/"' in html
    assert "Restore</button>" not in v.get(f"/backups/{backup.pk}/").content.decode()
    assert v.get(f"/api/backups/{backup.pk}/download/").status_code == 403
    assert c.get(f"/api/backups/{backup.pk}/download/").status_code == 200


def test_schedules_page_creates_a_schedule_with_a_preview(host, engine, make_user):
    from dockerweb.backups.models import Schedule

    admin = _client(make_user, "admin", "sched-admin")
    page = admin.get("/schedules/")
    assert page.status_code == 200 and "New schedule" in page.content.decode()
    r = admin.post("/schedules/", {"host": "local", "volume": "v1", "label": "", "cron": "bad cron", "keep_last": 3,
                                   "keep_daily": 0, "keep_weekly": 0, "compression": "zstd", "consistency": "none",
                                   "enabled": "on"})
    assert r.status_code == 400 and "5 fields" in r.content.decode()
    # The form's own errors (negative counts) answer 400 too, not 200, each at its field.
    r = admin.post("/schedules/", {"host": "local", "volume": "v1", "label": "", "cron": "15 2 * * *", "keep_last": -1,
                                   "keep_daily": -2, "keep_weekly": 0, "compression": "zstd", "consistency": "none"})
    assert r.status_code == 400 and 'data-form-errors="2"' in r.content.decode() and not Schedule.objects.exists()
    r = admin.post("/schedules/", {"host": "local", "volume": "v1", "label": "", "cron": "15 2 * * *", "keep_last": 3,
                                   "keep_daily": 7, "keep_weekly": 4, "compression": "zstd", "consistency": "pause",
                                   "enabled": "on"})
    assert r.status_code == 302
    s = Schedule.objects.get(volume="v1")
    html = admin.get("/schedules/").content.decode()
    assert "At 02:15 AM" in html and "15 2 * * *" in html and "7 daily" in html and "4 weekly" in html
    edit = admin.get(f"/schedules/{s.pk}/").content.decode()
    assert "Next runs" in edit and edit.count("<li><time") == 5
    r = admin.post(f"/schedules/{s.pk}/", {"volume": "v1", "label": "", "cron": "15 2 * * *", "keep_last": -1,
                                           "keep_daily": 7, "keep_weekly": 4, "compression": "zstd",
                                           "consistency": "pause", "enabled": "on"})
    assert r.status_code == 400 and 'data-form-errors="1"' in r.content.decode()
    s.refresh_from_db()
    assert s.keep_last == 3
    op = _client(make_user, "operator", "sched-op")
    assert "Only admins create schedules" in op.get("/schedules/").content.decode()


def test_the_reaper_is_registered_with_beat(db):
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    call_command("migrate", "backups", "0001", verbosity=0)
    assert not PeriodicTask.objects.filter(task="backups.job_reap").exists()
    call_command("migrate", "backups", verbosity=0)
    task = PeriodicTask.objects.get(task="backups.job_reap")
    assert task.enabled and task.interval.every == 60
