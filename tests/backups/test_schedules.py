"""Schedules: the API and its beat task, a firing through the real worker, pruning by retention."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone as tz
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings

from .conftest import fill_volume

pytestmark = pytest.mark.django_db(transaction=True)


def test_schedule_fires_and_prunes_by_retention(celery_worker_proc, host, engine, api_as):
    from django_celery_beat.models import PeriodicTask

    from dockerweb.backups.models import Backup
    from dockerweb.backups.tasks import schedule_run_task

    fill_volume(engine, "sch-src", kib=32, small=3)
    admin = api_as("admin")
    r = admin.post("/api/schedules/", {"host": "local", "volume": "sch-src", "cron": "*/5 * * * *", "keep_last": 2,
                                       "compression": "gzip"}, format="json")
    assert r.status_code == 201, r.content
    s = r.json()
    assert s["next_run"] and len(s["next_runs"]) == 5 and "5 minutes" in s["description"]
    first = datetime.fromisoformat(s["next_run"].replace("Z", "+00:00"))
    assert first.minute % 5 == 0 and first > datetime.now(tz.utc)

    task = PeriodicTask.objects.get(name=f"dockerweb backup schedule {s['id']}")
    assert task.task == "backups.schedule_run" and json.loads(task.args) == [s["id"]] and task.enabled
    assert task.crontab.minute == "*/5" and task.crontab.hour == "*"

    # fire it as beat would, three times, through the worker
    for _ in range(3):
        result = schedule_run_task.apply_async(args=json.loads(task.args)).get(timeout=60)
        assert result["errors"] == [] and result["backups"] == {"sch-src": "succeeded"}
    kept = list(Backup.objects.filter(schedule_id=s["id"]).order_by("id"))
    assert len(kept) == 2 and all(b.status == "succeeded" and b.origin == "schedule" for b in kept)
    assert kept[0].pk > 1 or Backup.objects.filter(pk__lt=kept[0].pk, schedule_id=s["id"]).count() == 0
    files = sorted(p.name for p in (Path(settings.BACKUP_DIR) / "local" / "sch-src").glob("*.tar.gz"))
    assert files == sorted(Path(b.path).name for b in kept), "the pruned archive's file is gone too"

    body = admin.get(f"/api/schedules/{s['id']}/").json()
    assert body["last_run"] and body["last_status"] == "succeeded"

    # disabling reaches the beat's task
    r = admin.patch(f"/api/schedules/{s['id']}/", {"enabled": False}, format="json")
    assert r.status_code == 200 and r.json()["next_run"] is None
    task.refresh_from_db()
    assert task.enabled is False


def test_a_failed_run_is_visible(celery_worker_proc, host, engine, api_as):
    from dockerweb.backups.tasks import schedule_run_task

    admin = api_as("admin")
    s = admin.post("/api/schedules/", {"host": "local", "label": "backup=nightly", "cron": "0 3 * * *", "keep_last": 1},
                   format="json").json()
    result = schedule_run_task.delay(s["id"]).get(timeout=60)
    assert result["errors"]
    body = admin.get(f"/api/schedules/{s['id']}/").json()
    assert body["last_status"] == "failed" and "no volume matches" in body["last_error"]

    # labelled volumes are all backed up
    engine.volumes.create("lab-a", labels={"backup": "nightly"})
    engine.volumes.create("lab-b", labels={"backup": "nightly"})
    engine.volumes.create("lab-c", labels={"backup": "weekly"})
    result = schedule_run_task.delay(s["id"]).get(timeout=60)
    assert result["backups"] == {"lab-a": "succeeded", "lab-b": "succeeded"} and not result["errors"]
    page = admin.get(f"/api/schedules/{s['id']}/").json()
    assert page["last_status"] == "succeeded"


def test_schedules_need_admin_and_a_valid_cron(host, api_as):
    op = api_as("operator")
    r = op.post("/api/schedules/", {"host": "local", "volume": "x", "cron": "0 3 * * *"}, format="json")
    assert r.status_code == 403
    admin = api_as("admin", "admin-2")
    r = admin.post("/api/schedules/", {"host": "local", "volume": "x", "cron": "61 3 * * *"}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "cron"
    r = admin.post("/api/schedules/", {"host": "local", "volume": "x", "label": "a", "cron": "0 3 * * *"}, format="json")
    assert r.status_code == 400
    r = admin.get("/api/schedules/preview/", {"cron": "30 2 * * 1"})
    assert r.status_code == 200 and "02:30" in r.json()["description"]
    assert all(datetime.fromisoformat(t.replace("Z", "+00:00")).weekday() == 0 for t in r.json()["next_runs"])


def test_retention_keeps_last_daily_and_weekly():
    from dockerweb.backups.schedules import retention_keep

    now = datetime(2026, 11, 28, 12, 0, tzinfo=tz.utc)
    # two backups a day for 30 days, newest first
    backups = [SimpleNamespace(pk=i, created=now - timedelta(hours=12 * i)) for i in range(60)]
    keep = retention_keep(backups, keep_last=3, keep_daily=0, keep_weekly=0)
    assert keep == {0, 1, 2}
    keep = retention_keep(backups, keep_last=1, keep_daily=7, keep_weekly=0)
    days = {backups[i].created.date() for i in keep}
    assert len(days) == 7 and 0 in keep and len(keep) == 7
    keep = retention_keep(backups, keep_last=0, keep_daily=0, keep_weekly=4)
    weeks = {backups[i].created.isocalendar()[:2] for i in keep}
    assert len(keep) == 4 and len(weeks) == 4
