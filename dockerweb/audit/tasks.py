"""Celery tasks of the audit: thin, they take an id and call one service."""
from __future__ import annotations

from celery import shared_task
from django.db import close_old_connections


@shared_task(name="audit.run", acks_late=True, reject_on_worker_lost=True)
def audit_run_task(audit_id: int) -> str:
    from . import services

    close_old_connections()
    return services.audit_execute(audit_id=audit_id).status
