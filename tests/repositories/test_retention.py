"""Retention of repository snapshots by schedules: restic's own `forget --prune`, limited to the
schedule's volume (other volumes' snapshots in the same repository are left alone)."""
from __future__ import annotations

import pytest

from .conftest import make_local, run_in, snapshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_schedule_keeps_what_its_rules_say_and_nothing_else_goes(host, engine, api_as, admin_api, repo_dir,
                                                                    celery_worker_proc):
    from dockerweb.backups.models import Backup
    from dockerweb.backups.schedules import schedule_run

    repo = make_local(admin_api, repo_dir)
    for name in ("dw-ret-a", "dw-ret-b"):
        engine.volumes.create(name)
        run_in(engine, name, "echo first > /v/f")
    operator = api_as("operator")
    others = [snapshot(operator, "dw-ret-b", repo["id"])["snapshot"] for _ in range(2)]  # not the schedule's

    r = admin_api.post("/api/schedules/", {"host": "local", "volume": "dw-ret-a", "cron": "0 3 * * *",
                                            "keep_last": 2, "repository": repo["id"]}, format="json")
    assert r.status_code == 201, r.content
    sched = r.json()
    assert sched["repository"] == repo["id"] and sched["keep_hourly"] == 0 and sched["keep_monthly"] == 0
    made = []
    for i in range(3):
        run_in(engine, "dw-ret-a", f"echo {i} > /v/f")
        result = schedule_run(schedule_id=sched["id"])
        assert result["errors"] == [] and result["backups"] == {"dw-ret-a": "succeeded"}, result
        made.append(Backup.objects.filter(schedule_id=sched["id"]).order_by("-id").first().snapshot)

    listed = admin_api.get(f"/api/repositories/{repo['id']}/snapshots/").json()
    by_volume = {}
    for s in listed:
        by_volume.setdefault(s["volume"], []).append(s["short_id"])
    assert by_volume == {"dw-ret-a": made[:0:-1], "dw-ret-b": others[::-1]}
    # The forgotten snapshot's job row went with it; the kept ones stay.
    assert sorted(Backup.objects.filter(schedule_id=sched["id"]).values_list("snapshot", flat=True)) == sorted(made[1:])
    assert admin_api.get(f"/api/schedules/{sched['id']}/").json()["last_status"] == "succeeded"


def test_a_schedule_must_keep_something(host, admin_api, repo_dir):
    repo = make_local(admin_api, repo_dir)
    r = admin_api.post("/api/schedules/", {"host": "local", "volume": "x", "cron": "0 3 * * *", "keep_last": 0,
                                            "repository": repo["id"]}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "keep_last"
    r = admin_api.post("/api/schedules/", {"host": "local", "volume": "x", "cron": "0 3 * * *", "keep_last": 0,
                                            "keep_monthly": 12, "repository": repo["id"]}, format="json")
    assert r.status_code == 201, r.content
    # A repository that schedules use cannot be removed from under them.
    r = admin_api.delete(f"/api/repositories/{repo['id']}/")
    assert r.status_code == 409 and "Schedules" in r.json()["detail"]
