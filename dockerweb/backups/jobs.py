"""Job machinery shared by backups and restores: claiming a row so one job never runs twice,
a heartbeat while it runs, progress pushed live, cancellation, and finding jobs whose worker
died (so their leftovers are removed and the row says what happened)."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import F
from django.utils import timezone

from dockerweb.core import live

from .models import Status

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
STALE_SECONDS = int(getattr(settings, "BACKUP_JOB_STALE_SECONDS", os.environ.get("DOCKERWEB_JOB_STALE_SECONDS", 60)))
MAX_ATTEMPTS = 2
# Bytes per second a job may move (0: no limit), to spare a busy host's disks, like rsync --bwlimit.
BWLIMIT = int(os.environ.get("DOCKERWEB_BACKUP_BWLIMIT", "0") or 0)


class Cancelled(Exception):
    """The job was cancelled by a person while it ran."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_name() -> str:
    """The Celery node running the current task (`worker-…@machine`, `agent-<host>@machine`)."""
    from celery import current_task

    request = getattr(current_task, "request", None)
    return getattr(request, "hostname", None) or worker_id()


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


def claimer_dead(job, *, stale_seconds: int = STALE_SECONDS) -> bool:
    """Whether the worker that claimed `job` is gone: its process is missing on this machine, or
    its heartbeat is older than `stale_seconds` (a worker on another machine)."""
    hostname, _, pid = (job.claimed_by or "").rpartition(":")
    if hostname == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)):
        return True
    if job.heartbeat is None:
        return True
    return (timezone.now() - job.heartbeat).total_seconds() > stale_seconds


def job_claim(model, pk: int):
    """Take the queued job `pk` for this worker. Returns (job, previous_claim) or (None, reason).

    One UPDATE … WHERE status='queued' decides, so two deliveries of the same task cannot both
    win. A row still `running` under a dead worker is taken over (the caller cleans up first)."""
    me = worker_id()
    now = timezone.now()
    won = model.objects.filter(pk=pk, status=Status.QUEUED, cancel_requested=False).update(
        status=Status.RUNNING, claimed_by=me, worker=worker_name(), heartbeat=now, started=now,
        attempts=F("attempts") + 1)
    job = model.objects.filter(pk=pk).first()
    if job is None:
        return None, "gone"
    if won:
        return job, None
    if job.status == Status.QUEUED and job.cancel_requested:
        job_finish(job, status=Status.CANCELLED, error="Cancelled before it started.")
        return None, "cancelled"
    if job.status == Status.RUNNING and job.claimed_by != me and claimer_dead(job):
        previous = job.claimed_by
        took = model.objects.filter(pk=pk, status=Status.RUNNING, claimed_by=previous).update(
            claimed_by=me, worker=worker_name(), heartbeat=now, attempts=F("attempts") + 1)
        if took:
            job.refresh_from_db()
            return job, previous
    return None, job.status


def job_finish(job, *, status: str, error: str = "", **fields) -> None:
    job.status = status
    job.error = error[:4000]
    job.finished = timezone.now()
    job.eta = None
    if status == Status.SUCCEEDED:
        job.progress = 1.0
    for k, v in fields.items():
        setattr(job, k, v)
    job.save()
    job_publish(job)


def job_message(job) -> dict:
    return {
        "type": live.JOB_PROGRESS, "job": job.job_key, "kind": job.KIND, "id": job.pk,
        "host": job.host_name, "volume": job.volume, "status": job.status,
        "progress": round(job.progress, 4), "bytes_done": job.bytes_done, "bytes_total": job.bytes_total,
        "throughput": round(job.throughput, 1), "eta": None if job.eta is None else round(job.eta, 1),
        "error": job.error,
    }


def job_publish(job) -> None:
    live.publish(live.job_group(job.job_key), job_message(job))


class Progress:
    """Counts bytes, and at most twice a second saves them, pushes them live and checks whether
    the job was cancelled. A heartbeat thread keeps the claim fresh during long quiet steps."""

    INTERVAL = 0.5

    def __init__(self, job, *, total: int = 0):
        self.job = job
        self.total = total
        self.done = 0
        self.t0 = time.monotonic()
        self._last = 0.0
        self._window: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"heartbeat-{job.job_key}")
        self.cancelled = False

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
                model.objects.filter(pk=pk, status=Status.RUNNING).update(heartbeat=timezone.now())
                if model.objects.filter(pk=pk, cancel_requested=True).exists():
                    self.cancelled = True
        except Exception as exc:  # a lost database must not kill the job's own thread
            log.warning("heartbeat of %s: %s", self.job.job_key, exc)
        finally:
            connection.close()

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if BWLIMIT:
            ahead = self.done / BWLIMIT - (now - self.t0)
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
        if self.total > 0:
            job.progress = min(done / self.total, 0.99)
            job.eta = max(self.total - done, 0) / rate if rate > 0 else None
        type(job).objects.filter(pk=job.pk).update(
            bytes_done=job.bytes_done, bytes_total=job.bytes_total, throughput=job.throughput,
            progress=job.progress, eta=job.eta, heartbeat=timezone.now())
        if self.cancelled or type(job).objects.filter(pk=job.pk, cancel_requested=True).exists():
            raise Cancelled()
        job_publish(job)


def db_fresh() -> None:
    close_old_connections()
