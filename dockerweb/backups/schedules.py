"""Backup schedules: cron expressions (parsed, described, previewed), their django-celery-beat
PeriodicTask, what a run does (back up the volume or every labelled volume, then prune by
retention), and the retention rules themselves."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone as dt_timezone

from django.db import transaction
from django.utils import timezone

from dockerweb.core.errors import AppError, BadRequest
from dockerweb.core.jobs import job_claim
from dockerweb.core.models import JobStatus as Status
from dockerweb.core.services import change
from dockerweb.engine import inventory as engine_inventory

from . import store
from .models import Backup, Compression, Consistency, Schedule

log = logging.getLogger(__name__)
TASK_NAME = "backups.schedule_run"
KEEP_MAX = 10_000  # retention counts: plenty for any rotation, and what the database column holds
KEEPS = ("keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly")
FIELDS = ("volume", "label", "cron", *KEEPS, "compression", "consistency", "enabled", "repository")


# --- cron ---------------------------------------------------------------------------------------

def cron_parse(expr: str):
    """A celery crontab from a 5-field cron expression, or BadRequest naming the `cron` field."""
    from celery.schedules import ParseException, crontab

    parts = (expr or "").split()
    if len(parts) != 5:
        raise BadRequest("A cron expression has 5 fields: minute hour day-of-month month day-of-week "
                         "(e.g. '0 3 * * *' is every day at 03:00).", field="cron")
    m, h, dom, mon, dow = parts
    try:
        return crontab(minute=m, hour=h, day_of_month=dom, month_of_year=mon, day_of_week=dow)
    except (ParseException, ValueError, TypeError, IndexError) as exc:
        raise BadRequest(f"The cron expression {expr!r} cannot be read: {exc}", field="cron") from exc


def cron_next_runs(expr: str, *, after: datetime | None = None, count: int = 5) -> list[datetime]:
    """The next `count` times (UTC, the beat's zone) the expression fires after `after`. Like
    celery's crontab, a day must match both day-of-month and day-of-week."""
    c = cron_parse(expr)
    start = (after or timezone.now()).astimezone(dt_timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
    runs: list[datetime] = []
    day = start.replace(hour=0, minute=0)
    for _ in range(366 * 5):
        if (day.month in c.month_of_year and day.day in c.day_of_month
                and (day.weekday() + 1) % 7 in c.day_of_week):
            for hour in sorted(c.hour):
                for minute in sorted(c.minute):
                    t = day.replace(hour=hour, minute=minute)
                    if t >= start:
                        runs.append(t)
                        if len(runs) >= count:
                            return runs
        day += timedelta(days=1)
    return runs


def cron_describe(expr: str) -> str:
    try:
        from cron_descriptor import get_description

        return get_description(expr) + " (UTC)"
    except Exception:
        return expr


# --- services -----------------------------------------------------------------------------------

def _validate(data: dict) -> dict:
    data = {k: v for k, v in data.items() if k in FIELDS}
    for k in ("volume", "label", "cron"):
        if k in data:
            data[k] = (data[k] or "").strip()
    if "cron" in data:
        cron_parse(data["cron"])
    if "compression" in data and data["compression"] not in Compression.values:
        raise BadRequest(f"compression must be one of: {', '.join(Compression.values)}.", field="compression")
    if "consistency" in data and data["consistency"] not in Consistency.values:
        raise BadRequest("consistency must be none, pause or stop.", field="consistency")
    for k in KEEPS:
        if k in data and (data[k] is None or not 0 <= int(data[k]) <= KEEP_MAX):
            raise BadRequest(f"{k} must be a whole number from 0 to {KEEP_MAX}.", field=k)
    return data


def _check_target(schedule: Schedule) -> None:
    if bool(schedule.volume) == bool(schedule.label):
        raise BadRequest("Give either one volume or a label (every volume with it), not both or neither.",
                         field="volume")
    if sum(getattr(schedule, k) for k in KEEPS) == 0:
        raise BadRequest("Keep at least one backup (keep_last, keep_hourly, keep_daily, keep_weekly or keep_monthly).",
                         field="keep_last")


def _sync_periodic_task(schedule: Schedule) -> None:
    """Make the beat's PeriodicTask match the schedule (django-celery-beat under the hood)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    m, h, dom, mon, dow = schedule.cron.split()
    cron, _ = CrontabSchedule.objects.get_or_create(minute=m, hour=h, day_of_month=dom, month_of_year=mon,
                                                    day_of_week=dow, timezone="UTC")
    task = schedule.periodic_task or PeriodicTask(name=f"dockerweb backup schedule {schedule.pk}")
    task.task = TASK_NAME
    task.crontab = cron
    task.interval = None
    task.args = json.dumps([schedule.pk])
    task.enabled = schedule.enabled
    task.save()
    if schedule.periodic_task_id != task.pk:
        schedule.periodic_task = task
        Schedule.objects.filter(pk=schedule.pk).update(periodic_task=task)


def schedule_create(*, actor, host, **data) -> Schedule:
    with change(user=actor, action="schedule.create", host=host, target=data.get("volume") or data.get("label", ""),
                detail={"cron": data.get("cron")}) as ch:
        data = _validate(data)
        if not data.get("cron"):
            raise BadRequest("A cron expression is required.", field="cron")
        with transaction.atomic():
            schedule = Schedule(host=host, created_by=actor, **data)
            _check_target(schedule)
            schedule.save()
            _sync_periodic_task(schedule)
        ch.detail["schedule"] = schedule.pk
    return schedule


def schedule_update(*, actor, schedule: Schedule, **data) -> Schedule:
    with change(user=actor, action="schedule.update", host=schedule.host, target=f"schedule {schedule.pk}",
                detail={k: v for k, v in data.items() if k in FIELDS}):
        data = _validate(data)
        with transaction.atomic():
            for k, v in data.items():
                setattr(schedule, k, v)
            _check_target(schedule)
            schedule.save()
            _sync_periodic_task(schedule)
    return schedule


def schedule_delete(*, actor, schedule: Schedule) -> None:
    with change(user=actor, action="schedule.delete", host=schedule.host, target=f"schedule {schedule.pk}"):
        with transaction.atomic():
            if schedule.periodic_task_id:
                schedule.periodic_task.delete()
            schedule.delete()


def schedule_volumes(schedule: Schedule) -> list[str]:
    if schedule.volume:
        return [schedule.volume]
    key, sep, value = schedule.label.partition("=")
    names = []
    for v in engine_inventory.volume_list(schedule.host):
        labels = v.get("Labels") or {}
        if key in labels and (not sep or labels[key] == value):
            names.append(v["Name"])
    return sorted(names)


def schedule_run(*, schedule_id: int) -> dict:
    """One firing: back up each volume (one after another, in this task), prune after each
    success, and record how the run ended on the schedule."""
    from .services import backup_create, backup_execute

    schedule = Schedule.objects.select_related("host").filter(pk=schedule_id).first()
    if schedule is None or not schedule.enabled:
        return {"skipped": True}
    results, errors = {}, []
    try:
        names = schedule_volumes(schedule)
        if not names:
            errors.append(f"no volume matches {schedule.target_label}")
        for name in names:
            try:
                backup = backup_create(host=schedule.host, volume=name, compression=schedule.compression,
                                       consistency=schedule.consistency, origin=Backup.Origin.SCHEDULE,
                                       schedule=schedule, created_by=schedule.created_by, enqueue=False,
                                       repository=schedule.repository)
            except AppError as exc:
                errors.append(f"{name}: {exc.message}")
                continue
            claimed, _ = job_claim(Backup, backup.pk)
            if claimed is None:
                continue
            backup_execute(claimed)
            results[name] = claimed.status
            if claimed.status == Status.SUCCEEDED:
                try:
                    schedule_prune(schedule=schedule, volume=name)
                except AppError as exc:  # the snapshot is kept; the next run prunes again
                    errors.append(f"{name}: retention: {exc.message}")
            else:
                errors.append(f"{name}: {claimed.error}")
    except AppError as exc:
        errors.append(exc.message)
    Schedule.objects.filter(pk=schedule.pk).update(
        last_run=timezone.now(), last_status="failed" if errors else "succeeded", last_error="\n".join(errors)[:4000])
    return {"backups": results, "errors": errors}


def retention_keep(backups: list[Backup], *, keep_last: int = 0, keep_hourly: int = 0, keep_daily: int = 0,
                   keep_weekly: int = 0, keep_monthly: int = 0) -> set[int]:
    """Ids to keep among `backups` (newest first): the newest `keep_last`, and the newest of each
    of the last `keep_hourly` hours, `keep_daily` days, `keep_weekly` ISO weeks and
    `keep_monthly` months that have one (UTC) — restic's `forget --keep-*` rules."""
    keep = {b.pk for b in backups[:keep_last]}
    buckets = ((keep_hourly, lambda t: (t.date(), t.hour)), (keep_daily, lambda t: t.date()),
               (keep_weekly, lambda t: t.date().isocalendar()[:2]), (keep_monthly, lambda t: (t.year, t.month)))
    for count, bucket in buckets:
        seen: list = []
        for b in backups:
            key = bucket(b.created.astimezone(dt_timezone.utc))
            if count and key not in seen and len(seen) < count:
                seen.append(key)
                keep.add(b.pk)
    return keep


def schedule_prune(*, schedule: Schedule, volume: str) -> list[int]:
    """Remove the schedule's backups of `volume` that retention does not keep: archives here,
    snapshots by the repository's own `forget --prune` (their job rows go with them)."""
    keeps = {k: getattr(schedule, k) for k in KEEPS}
    if schedule.repository_id:
        from dockerweb.repositories.services import snapshots_forget

        removed_ids = snapshots_forget(repository=schedule.repository, host=schedule.host.name, volume=volume,
                                       keep={k[len("keep_"):]: v for k, v in keeps.items()})
        gone = Backup.objects.filter(repository=schedule.repository, snapshot__in=removed_ids)
        removed = list(gone.values_list("pk", flat=True))
        gone.delete()
    else:
        backups = list(Backup.objects.filter(schedule=schedule, volume=volume, status=Status.SUCCEEDED,
                                             repository__isnull=True).order_by("-created", "-id"))
        keep = retention_keep(backups, **keeps)
        removed = []
        for b in backups:
            if b.pk not in keep:
                store.archive_remove(b)
                removed.append(b.pk)
                b.delete()
    if removed:
        log.info("schedule %s pruned backups %s of %s", schedule.pk, removed, volume)
    return removed


def schedule_next_run(schedule: Schedule):
    if not schedule.enabled:
        return None
    try:
        runs = cron_next_runs(schedule.cron, count=1)
    except BadRequest:
        return None
    return runs[0] if runs else None
