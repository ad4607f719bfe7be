"""Core tasks: a health probe run by a worker, which proves the broker, the worker, the
database and the engine are wired together end to end."""
from celery import shared_task


@shared_task(name="core.worker_health")
def worker_health() -> dict:
    import os

    from . import selectors

    return {"pid": os.getpid(), **selectors.health()}
