"""Celery tasks of the audit: thin, they take an id and call one service."""
from __future__ import annotations

from celery import shared_task
from django.db import close_old_connections

from dockerweb.core.jobs import JOB_OPTIONS


def task_for(audit):
    """The task that runs an audit row (its kind of job: `core.jobs`)."""
    return audit_run_task


@shared_task(name="audit.run", **JOB_OPTIONS)
def audit_run_task(audit_id: int) -> str:
    from . import services

    close_old_connections()
    return services.audit_execute(audit_id=audit_id).status
