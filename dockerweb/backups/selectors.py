"""Reads of the backups app."""
from __future__ import annotations

from django.db.models import QuerySet

from dockerweb.core.errors import NotFound
from dockerweb.core.models import JobStatus as Status

from .models import Backup, Restore, Schedule


def backup_list(*, filters: dict | None = None) -> QuerySet[Backup]:
    f = filters or {}
    qs = Backup.objects.select_related("schedule", "repository")
    if f.get("host"):
        qs = qs.filter(host_name=f["host"])
    if f.get("volume"):
        qs = qs.filter(volume=f["volume"])
    if f.get("status"):
        qs = qs.filter(status=f["status"])
    if f.get("origin"):
        qs = qs.filter(origin=f["origin"])
    return qs


def backup_get(*, pk) -> Backup:
    b = Backup.objects.select_related("host", "schedule", "repository").filter(pk=pk).first()
    if b is None:
        raise NotFound(f"There is no backup {pk}.")
    return b


def backup_files_visible(*, user, backup: Backup) -> bool:
    """Whether `user` may see the files of `backup`'s archive: what downloading it needs, the
    operator role and every door the volume had (`Backup.doors`)."""
    from dockerweb.core.permissions import may

    return may(user, "backup.browse", backup.host) and all(may(user, action, backup.host)
                                                             for action, _reason in backup.doors or [])


def restore_list(*, filters: dict | None = None) -> QuerySet[Restore]:
    f = filters or {}
    qs = Restore.objects.select_related("backup")
    if f.get("backup"):
        qs = qs.filter(backup_id=f["backup"])
    if f.get("host"):
        qs = qs.filter(host_name=f["host"])
    return qs


def restore_get(*, pk) -> Restore:
    r = Restore.objects.select_related("host", "backup").filter(pk=pk).first()
    if r is None:
        raise NotFound(f"There is no restore {pk}.")
    return r


def schedule_list() -> QuerySet[Schedule]:
    return Schedule.objects.select_related("host", "repository")


def schedule_get(*, pk) -> Schedule:
    s = Schedule.objects.select_related("host", "periodic_task", "repository").filter(pk=pk).first()
    if s is None:
        raise NotFound(f"There is no schedule {pk}.")
    return s


def schedule_recent_failures(schedule: Schedule, limit: int = 5) -> QuerySet[Backup]:
    return schedule.backups.filter(status="failed").order_by("-created")[:limit]


def job_is_active(job_key: str) -> bool:
    """Whether the backup or restore `job_key` (`restore-12`, as on engine labels) is queued or
    running."""
    kind, _, pk = (job_key or "").partition("-")
    model = {"backup": Backup, "restore": Restore}.get(kind)
    if model is None or not pk.isdigit():
        return False
    return model.objects.filter(pk=int(pk), status__in=(Status.QUEUED, Status.RUNNING)).exists()
