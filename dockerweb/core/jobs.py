"""The job machinery of every long-running job (backups, restores, audits): rows of
`core.models.Job`, run by Celery tasks.

- `job_enqueue` sends the job's task once its row is committed, to the host's agent when one
  runs, else to the central workers; a broker that is down fails the job, in words (503).
- `job_run` is a task's body: `job_claim` takes the row for this worker (one UPDATE decides, so
  two deliveries never both run it); a row still `running` under a dead worker is taken over,
  what that attempt left is undone and the job retried, up to MAX_ATTEMPTS.
- `Heartbeat` keeps the claim fresh while the job runs and notices a cancel request;
  `Progress` also counts bytes and pushes them live (`job_message`, `job_publish`).
- `jobs_reap` finds running jobs whose worker died, undoes what they left and marks them failed,
  and hands the jobs a gone agent never took to the central workers.

Each kind of job is registered once (`job_kind`, from its app's `ready()`): the task that runs
a row, and how to undo what a dead attempt left."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from . import live
from .errors import Unavailable
from .models import TERMINAL, JobStatus

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
MAX_ATTEMPTS = 2
# A job's task: a task whose worker dies goes back to the queue (prefetch 1 is the workers'
# setting); the row's claim makes sure it never runs twice at once.
JOB_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}


class Cancelled(Exception):
    """The job was cancelled by a person while it ran."""


# --- kinds of jobs ------------------------------------------------------------------------------

@dataclass(frozen=True)
class JobKind:
    """How the machinery treats the rows of `model`: `task_for` and `cleanup_of` are dotted
    paths (imported when first used, so apps register their kinds before their services load)
    of a function of a row giving the Celery task that runs it, and of one undoing what an
    attempt whose worker died left behind (returning what it undid)."""

    model: type
    task_for: str
    cleanup_of: str = ""

    def task(self, job):
        return import_string(self.task_for)(job)

    def cleanup(self, job) -> dict:
        return import_string(self.cleanup_of)(job) if self.cleanup_of else {}


_kinds: dict[type, JobKind] = {}


def job_kind(model, *, task_for: str, cleanup_of: str = "") -> None:
    """Register a kind of job (from its app's `ready()`)."""
    _kinds[model] = JobKind(model, task_for, cleanup_of)


def _kind(model) -> JobKind:
    return _kinds[model]


# --- the worker ---------------------------------------------------------------------------------

def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_name() -> str:
    """The Celery node running the current task (`worker-…@machine`, `agent-<host>@machine`);
    empty outside a task (a job run within a request)."""
    from celery import current_task

    request = getattr(current_task, "request", None)
    return getattr(request, "hostname", None) or ""


def _pid_alive(pid: int) -> bool:
    """Whether a process of this machine runs (a zombie nobody reaped yet counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True


def claimer_dead(job, *, stale_seconds: int | None = None) -> bool:
    """Whether the worker that claimed `job` is gone: its process is missing on this machine, or
    its heartbeat is older than `stale_seconds` (settings.JOB_STALE_SECONDS; a worker on another
    machine)."""
    hostname, _, pid = (job.claimed_by or "").rpartition(":")
    if hostname == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)):
        return True
    if job.heartbeat is None:
        return True
    stale = settings.JOB_STALE_SECONDS if stale_seconds is None else stale_seconds
    return (timezone.now() - job.heartbeat).total_seconds() > stale


# --- sending, claiming, running, ending ----------------------------------------------------------

def job_enqueue(job) -> None:
    """Send the job's task once its row is committed: beside the host's engine when its agent
    runs (in place, at the volume), else to the central workers. A broker that is down fails
    the job (503)."""
    from dockerweb.inventory.agents import agent_queue_for

    task = _kind(type(job)).task(job)

    def send():
        queue = agent_queue_for(job.host) or ""
        try:
            result = task.apply_async(args=[job.pk], queue=queue or None)
            type(job).objects.filter(pk=job.pk).update(task_id=result.id, queue=queue)
        except Exception as exc:
            log.warning("cannot enqueue %s: %s", job.job_key, exc)
            job_finish(job, status=JobStatus.FAILED, error=f"The task queue cannot be reached: {exc}")
            raise Unavailable(f"The task queue (Redis) cannot be reached right now; the {job.KIND} was not "
                              "started.") from exc
    transaction.on_commit(send)


def job_claim(model, pk: int):
    """Take the queued job `pk` for this worker. Returns (job, previous_claim) or (None, reason).

    One UPDATE … WHERE status='queued' decides, so two deliveries of the same task cannot both
    win. A row still `running` under a dead worker is taken over (the caller cleans up first)."""
    me = worker_id()
    now = timezone.now()
    won = model.objects.filter(pk=pk, status=JobStatus.QUEUED, cancel_requested=False).update(
        status=JobStatus.RUNNING, claimed_by=me, worker=worker_name(), heartbeat=now, started=now,
        attempts=F("attempts") + 1)
    job = model.objects.filter(pk=pk).first()
    if job is None:
        return None, "gone"
    if won:
        return job, None
    if job.status == JobStatus.QUEUED and job.cancel_requested:
        job_finish(job, status=JobStatus.CANCELLED, error="Cancelled before it started.")
        return None, "cancelled"
    if job.status == JobStatus.RUNNING and job.claimed_by != me and claimer_dead(job):
        previous = job.claimed_by
        took = model.objects.filter(pk=pk, status=JobStatus.RUNNING, claimed_by=previous).update(
            claimed_by=me, worker=worker_name(), heartbeat=now, attempts=F("attempts") + 1)
        if took:
            job.refresh_from_db()
            return job, previous
    return None, job.status


def job_run(model, pk: int, *, execute: Callable, reset: Callable = lambda job: None) -> str:
    """The task body of a job: claim the row; when a worker died running it, undo what it left
    and retry within the cap (`reset` forgets what the dead attempt recorded); run it."""
    job, previous = job_claim(model, pk)
    if job is None:
        return f"skipped ({previous})"
    if previous:
        _kind(model).cleanup(job)
        if job.attempts > MAX_ATTEMPTS:
            job_finish(job, status=JobStatus.FAILED, error=f"The worker running this {job.KIND} stopped ({previous}); "
                                                           f"gave up after {MAX_ATTEMPTS} attempts.")
            return "failed"
        reset(job)
    execute(job)
    return job.status


def job_finish(job, *, status: str, error: str = "", **fields) -> None:
    job.status = status
    job.error = error[:4000]
    job.finished = timezone.now()
    if hasattr(job, "eta"):
        job.eta = None
    if status == JobStatus.SUCCEEDED:
        job.progress = 1.0
    for k, v in fields.items():
        setattr(job, k, v)
    job.save()
    job_publish(job)


def job_cancel(job):
    """Ask a job to stop: a queued one ends now (its task is revoked), a running one at its next
    progress step. Conflict when it already ended."""
    from .errors import Conflict

    if job.status in TERMINAL:
        raise Conflict(f"This job already ended ({job.status}).")
    type(job).objects.filter(pk=job.pk).update(cancel_requested=True)
    job.refresh_from_db()
    if job.status == JobStatus.QUEUED:
        won = type(job).objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.CANCELLED, finished=timezone.now(), error="Cancelled before it started.")
        job.refresh_from_db()
        if won:
            job_publish(job)
            if job.task_id:
                from dockerweb.celery import app
                try:
                    app.control.revoke(job.task_id)
                except Exception:
                    pass
    return job


# --- live progress ------------------------------------------------------------------------------

def job_message(job) -> dict:
    return {"type": live.JOB_PROGRESS, "job": job.job_key, "kind": job.KIND, "id": job.pk, "host": job.host_name,
            "status": job.status, "progress": round(job.progress, 4), "error": job.error, **job.live_fields()}


def job_publish(job) -> None:
    live.publish(live.job_group(job.job_key), job_message(job))


class Heartbeat:
    """While a job runs: a thread of its own keeps its claim fresh (every HEARTBEAT_SECONDS)
    and notices when a person asks to cancel it (`cancelled`)."""

    def __init__(self, job):
        self.job = job
        self.cancelled = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"heartbeat-{job.job_key}")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def _beat(self):
        model, pk = type(self.job), self.job.pk
        try:
            while not self._stop.wait(HEARTBEAT_SECONDS):
                model.objects.filter(pk=pk, status=JobStatus.RUNNING).update(heartbeat=timezone.now())
                if model.objects.filter(pk=pk, cancel_requested=True).exists():
                    self.cancelled = True
        except Exception as exc:  # a lost database must not kill the job's own thread
            log.warning("heartbeat of %s: %s", self.job.job_key, exc)
        finally:
            connection.close()


class Progress(Heartbeat):
    """A job that moves bytes (`backups.models.TransferJob`): counts them (the files' own bytes,
    what a person knows of their volume), and at most twice a second saves them, pushes them
    live and checks whether the job was cancelled. The bar's fraction is done / total, or, where
    the total is known only at the end (an upload being read), what `fraction()` says."""

    INTERVAL = 0.5

    def __init__(self, job, *, total: int = 0, fraction=None):
        super().__init__(job)
        self.total = total
        self.fraction = fraction
        self.done = 0
        self.t0 = time.monotonic()
        self.bwlimit = settings.BACKUP_BWLIMIT
        self._last = 0.0
        self._window: list[tuple[float, int]] = []

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.bwlimit:
            ahead = self.done / self.bwlimit - (now - self.t0)
            if ahead > 0:
                time.sleep(min(ahead, 5.0))
                now = time.monotonic()
        if now - self._last >= self.INTERVAL:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        now = now or time.monotonic()
        self._last = now
        job = self.job
        done = self.done
        self._window.append((now, done))
        self._window = [(t, d) for t, d in self._window if now - t <= 5.0]
        t_first, d_first = self._window[0]
        rate = (done - d_first) / (now - t_first) if now - t_first > 0.2 else (done / max(now - self.t0, 1e-3))
        job.bytes_done = done
        job.bytes_total = max(self.total, 0)
        job.throughput = rate
        if self.fraction is not None:
            part = min(max(self.fraction(), 0.0), 0.99)
            job.progress = part
            elapsed = now - self.t0
            job.eta = elapsed * (1 - part) / part if part > 0.01 else None
        elif self.total > 0:
            job.progress = min(done / self.total, 0.99)
            job.eta = max(self.total - done, 0) / rate if rate > 0 else None
        type(job).objects.filter(pk=job.pk).update(
            bytes_done=job.bytes_done, bytes_total=job.bytes_total, throughput=job.throughput,
            progress=job.progress, eta=job.eta, heartbeat=timezone.now())
        if self.cancelled or type(job).objects.filter(pk=job.pk, cancel_requested=True).exists():
            raise Cancelled()
        job_publish(job)


# --- jobs whose worker died ---------------------------------------------------------------------

def _agent_leftovers_resend(kind: JobKind) -> list[str]:
    """Jobs sent to a host's agent that is gone while they waited: the central workers take
    them (through the engine's API). A second delivery cannot run a job twice (its claim)."""
    from dockerweb.inventory.agents import agent_status

    model = kind.model
    sent = []
    for job in model.objects.filter(status=JobStatus.QUEUED).exclude(queue="").select_related("host"):
        if job.host is not None and agent_status(job.host.name) is None:
            if model.objects.filter(pk=job.pk, status=JobStatus.QUEUED, queue=job.queue).update(queue=""):
                kind.task(job).apply_async(args=[job.pk])
                sent.append(job.job_key)
    return sent


def jobs_reap(*, stale_seconds: int | None = None) -> list[str]:
    """Every kind of job: hand what a gone agent never took to the central workers; mark failed
    every running job whose worker is gone, after undoing what it left. Returns the jobs reaped."""
    from .services import activity_record

    reaped = []
    for kind in _kinds.values():
        _agent_leftovers_resend(kind)
    for kind in _kinds.values():
        model = kind.model
        for job in model.objects.filter(status=JobStatus.RUNNING).select_related("host"):
            if not claimer_dead(job, stale_seconds=stale_seconds):
                continue
            # Claim the right to reap it, so two reapers do not both act.
            if not model.objects.filter(pk=job.pk, status=JobStatus.RUNNING, claimed_by=job.claimed_by).update(
                    claimed_by="reaper"):
                continue
            reason = (f"The worker running this {job.KIND} stopped ({job.claimed_by}) before it finished; what it "
                      "left was cleaned up. Start it again if needed.")
            done = kind.cleanup(job)
            job_finish(job, status=JobStatus.FAILED, error=reason)
            activity_record(user=None, action=f"{job.KIND}.reap", outcome="failed", host=job.host_name,
                            target=job.job_key, detail={"message": reason, **done})
            reaped.append(job.job_key)
    return reaped
