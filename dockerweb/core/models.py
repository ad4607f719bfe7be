"""The activity log: one row per change a person asked for, whatever its outcome."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class Activity(models.Model):
    """Who asked for what change, on which host and target, and how it ended."""

    class Outcome(models.TextChoices):
        OK = "ok", "done"
        REFUSED = "refused", "refused"
        FAILED = "failed", "failed"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        to=settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="activities",
        help_text="The person who asked; kept as `username` too if the account is removed.",
    )
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True, help_text="`<entity>.<verb>`, e.g. network.create")
    host = models.CharField(max_length=100, blank=True, db_index=True, help_text="Host name, if any.")
    target = models.CharField(max_length=255, blank=True, help_text="What the change was applied to.")
    outcome = models.CharField(max_length=10, choices=Outcome.choices, db_index=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-at", "-id")
        verbose_name_plural = "activities"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.target} {self.outcome}"

    @property
    def message(self) -> str:
        return (self.detail or {}).get("message", "")


class Setting(models.Model):
    """A setting admins change in dockerweb itself, by key. A row's presence says the setting
    was taken over from the environment (e.g. `bind_roots.saved`: the bind allow-list lives in
    `BindRoot` from then on, and `DOCKERWEB_BIND_ALLOWLIST` is not read again)."""

    key = models.CharField(max_length=64, primary_key=True)
    value = models.JSONField(default=dict, blank=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key


class BindRoot(models.Model):
    """A host folder under which admins may bind-mount paths into containers (the bind
    allow-list). Edited on the Settings page; its first value is `DOCKERWEB_BIND_ALLOWLIST`."""

    class Origin(models.TextChoices):
        ENVIRONMENT = "environment", "DOCKERWEB_BIND_ALLOWLIST"
        SETTINGS = "settings", "Settings page"

    path = models.CharField(max_length=1024, unique=True, help_text="An absolute, normalised folder path.")
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.SETTINGS)
    added_by = models.ForeignKey(to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    added_by_name = models.CharField(max_length=150, blank=True)
    created = models.DateTimeField(null=True, blank=True, help_text="When it was added (empty: from the environment).")

    class Meta:
        ordering = ("path",)

    def __str__(self) -> str:
        return self.path

    @property
    def exists(self) -> bool:
        """Whether the folder exists on the machine dockerweb runs on."""
        import os

        return os.path.isdir(self.path)


class JobStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


TERMINAL = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    """What every long-running job row holds (backups, restores, audits): its status and
    progress, timings and error, and the claim (which worker runs it, its last heartbeat) that
    keeps a redelivered task from running the same job twice and lets a dead worker's job be
    found and cleaned up. Only `core.jobs` and the services of the job's app change these."""

    Status = JobStatus

    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0..1")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    task_id = models.CharField(max_length=64, blank=True)
    claimed_by = models.CharField(max_length=128, blank=True, help_text="host:pid of the worker running it")
    worker = models.CharField(max_length=128, blank=True, help_text="The Celery worker that ran it (an agent's name "
                                                                    "when the host's agent did)")
    queue = models.CharField(max_length=100, blank=True, help_text="The host's agent queue it was sent to; empty: "
                                                                   "the central workers'")
    heartbeat = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)

    class Meta:
        abstract = True

    KIND = "job"

    @property
    def job_key(self) -> str:
        """The id of this job in live messages, engine labels and file names (`backup-12`)."""
        return f"{self.KIND}-{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    @property
    def duration(self):
        if self.started and self.finished:
            return (self.finished - self.started).total_seconds()
        return None

    def live_fields(self) -> dict:
        """What this kind of job adds to its `job.progress` messages."""
        return {}
