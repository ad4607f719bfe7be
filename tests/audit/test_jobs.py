"""Audits are jobs of the one job machinery (`core.jobs`), as backups and restores are: a
redelivered task of a worker that died takes the audit over and runs it, and the reaper fails
an audit whose worker is gone, saying so."""
import pytest
from django.utils import timezone

from dockerweb.audit.models import Audit
from dockerweb.core.models import Activity

pytestmark = pytest.mark.django_db(transaction=True)
DEAD = "no-such-machine:1"  # a worker on another machine whose heartbeat stopped long ago


def _audit(host, **fields) -> Audit:
    audit = Audit.objects.create(host=host, status="queued", progress=0.0,
                                 probes={"ran": False, "wanted": False, "refresh": False})
    Audit.objects.filter(pk=audit.pk).update(**fields)
    return audit


def test_a_redelivered_audit_of_a_dead_worker_is_taken_over_and_run(celery_worker_proc, host):
    from dockerweb.audit.tasks import audit_run_task

    audit = _audit(host, status="running", claimed_by=DEAD, attempts=1,
                   heartbeat=timezone.now() - timezone.timedelta(hours=1))
    assert audit_run_task.delay(audit.pk).get(timeout=60) == "succeeded"
    row = Audit.objects.get(pk=audit.pk)
    assert row.attempts == 2 and row.worker and row.claimed_by != DEAD
    assert row.summary["containers"] >= 0 and row.progress == 1.0

    # a second delivery of a finished audit does not run it again
    assert audit_run_task.delay(audit.pk).get(timeout=60) == "succeeded"
    assert Audit.objects.get(pk=audit.pk).attempts == 2


def test_the_reaper_fails_an_audit_whose_worker_is_gone(host):
    from dockerweb.backups.services import job_reap

    gone = _audit(host, status="running", claimed_by=DEAD, attempts=1,
                  heartbeat=timezone.now() - timezone.timedelta(hours=1))
    alive = _audit(host, status="running", claimed_by=DEAD, attempts=1, heartbeat=timezone.now())
    assert gone.job_key in job_reap()
    row = Audit.objects.get(pk=gone.pk)
    assert row.status == "failed" and "worker running this audit stopped" in row.error and row.finished
    assert Activity.objects.filter(action="audit.reap", target=gone.job_key, outcome="failed").exists()
    assert Audit.objects.get(pk=alive.pk).status == "running", "a job whose worker still beats is left alone"
