"""Saved audits: what the model and the probes said about a host at one moment, and who asked."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class Audit(models.Model):
    """One saved isolation audit of a host: findings, the reachability matrix, the probe
    results (if probes ran), when, and by whom. Rows are written only by `services.audit_run`."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    host = models.ForeignKey(to="inventory.Host", on_delete=models.CASCADE, related_name="audits")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="audits")
    username = models.CharField(max_length=150, blank=True, help_text="Who ran it, kept if the account goes.")
    findings = models.JSONField(default=list, blank=True, help_text="[{rule, severity, subject, message, evidence, fix, cis}]")
    matrix = models.JSONField(default=dict, blank=True, help_text="{containers, networks, cells} from the model.")
    probes = models.JSONField(default=dict, blank=True, help_text="{ran, pairs: [...], mismatches, seconds} when probes ran.")
    summary = models.JSONField(default=dict, blank=True, help_text="Counts per severity, containers, reachable pairs.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SUCCEEDED, db_index=True)
    progress = models.FloatField(default=1.0, help_text="0..1 while probes run in a worker.")
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=128, blank=True, help_text="The Celery worker that ran it (the host's agent "
                                                                    "when one runs); empty when run in the request")
    queue = models.CharField(max_length=255, blank=True, help_text="The host agent's queue it was sent to; empty: "
                                                                   "the central workers'")
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created", "-pk")

    def __str__(self) -> str:
        return f"audit #{self.pk} of {self.host.name} at {self.created:%Y-%m-%d %H:%M}"

    @property
    def job_key(self) -> str:
        """The live group of this audit's progress (`job.audit-<id>`)."""
        return f"audit-{self.pk}"

    @property
    def done(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def probed(self) -> bool:
        return bool((self.probes or {}).get("ran"))

    @property
    def mismatch_count(self) -> int:
        return len((self.probes or {}).get("mismatches") or [])
