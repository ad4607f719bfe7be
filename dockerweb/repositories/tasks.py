"""Celery tasks of the repositories app: thin, they take ids and call one service."""
from __future__ import annotations

from celery import shared_task
from django.db import close_old_connections


@shared_task(name="repositories.check", acks_late=True, reject_on_worker_lost=True)
def repository_check_task(repository_id: int) -> str:
    from . import services
    from .models import Repository

    close_old_connections()
    repo = Repository.objects.filter(pk=repository_id).first()
    if repo is None:
        return "gone"
    return "ok" if services.repository_check(repository=repo).last_check_ok else "errors"
