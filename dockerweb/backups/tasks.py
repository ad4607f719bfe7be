"""Celery tasks of the backups app: thin, they take ids and call one service.

All run with acks_late and reject_on_worker_lost (prefetch 1 is the worker's setting): a task
whose worker dies goes back to the queue; the job row's claim makes sure it never runs twice at
once, and `backups.job_reap` (every minute, and when a worker starts) fails and cleans up jobs
whose worker is gone."""
from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import close_old_connections

from dockerweb.core.jobs import JOB_OPTIONS

log = logging.getLogger(__name__)


def _malloc_tame() -> None:
    """Keep the worker's memory flat: glibc raises its mmap threshold after big buffers are
    freed, and then serves the next 1 MiB chunks from per-thread heaps that never shrink.
    A fixed threshold returns each chunk to the system when it is freed."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 256 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


_malloc_tame()


def task_for(job):
    """The task that runs a backup, import or restore row (its kind of job: `core.jobs`)."""
    if job.KIND == "restore":
        return restore_run_task
    return import_run_task if job.origin == "import" else backup_run_task


@shared_task(name="backups.backup_run", **JOB_OPTIONS)
def backup_run_task(backup_id: int) -> str:
    from . import services

    close_old_connections()
    return services.backup_run(backup_id=backup_id)


@shared_task(name="backups.restore_run", **JOB_OPTIONS)
def restore_run_task(restore_id: int) -> str:
    from . import services

    close_old_connections()
    return services.restore_run(restore_id=restore_id)


@shared_task(name="backups.schedule_run", **JOB_OPTIONS)
def schedule_run_task(schedule_id: int) -> dict:
    from . import schedules

    close_old_connections()
    return schedules.schedule_run(schedule_id=schedule_id)


@shared_task(name="backups.job_reap")
def job_reap_task() -> list[str]:
    from . import services

    close_old_connections()
    return services.job_reap()


@worker_ready.connect
def _reap_on_worker_start(**kwargs):
    try:
        from . import services

        reaped = services.job_reap()
        if reaped:
            log.warning("jobs of dead workers marked failed: %s", ", ".join(reaped))
    except Exception as exc:  # the database may not be migrated yet
        log.warning("reaping dead jobs at worker start failed: %s", exc)


@shared_task(name="backups.import_run", **JOB_OPTIONS)
def import_run_task(backup_id: int) -> str:
    from . import services

    close_old_connections()
    return services.import_run(backup_id=backup_id)
