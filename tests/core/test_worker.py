"""A Celery task runs in a real worker process, through the real Redis, and reports back."""
import os

import pytest

from dockerweb.core.tasks import worker_health


@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_task_through_redis(celery_worker_proc, host):
    result = worker_health.delay().get(timeout=30)
    assert result["pid"] != os.getpid()
    assert result["database"] == "ok" and result["broker"] == "ok"
    assert result["engines"] == {"local": "ok"}
