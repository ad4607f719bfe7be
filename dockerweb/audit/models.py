"""Saved audits: what the model and the probes said about a host at one moment, and who asked."""
from __future__ import annotations

from django.db import models

from dockerweb.core.models import TERMINAL, Job


class Audit(Job):
    """One saved isolation audit of a host: findings, the reachability matrix, the probe
    results (if probes ran), when, and by whom. A job (`core.models.Job`), run in a worker or
    within the request; rows are written only by `services.audit_run` and `core.jobs`."""

    KIND = "audit"

    host = models.ForeignKey(to="inventory.Host", on_delete=models.CASCADE, related_name="audits")
    username = models.CharField(max_length=150, blank=True, help_text="Who ran it, kept if the account goes.")
    findings = models.JSONField(default=list, blank=True, help_text="[{rule, severity, subject, message, evidence, fix, cis}]")
    matrix = models.JSONField(default=dict, blank=True, help_text="{containers, networks, cells} from the model.")
    probes = models.JSONField(default=dict, blank=True, help_text="{ran, pairs: [...], mismatches, seconds} when probes ran.")
    summary = models.JSONField(default=dict, blank=True, help_text="Counts per severity, containers, reachable pairs.")

    class Meta:
        ordering = ("-created", "-pk")

    def __str__(self) -> str:
        return f"audit #{self.pk} of {self.host.name} at {self.created:%Y-%m-%d %H:%M}"

    @property
    def host_name(self) -> str:
        return self.host.name

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def probed(self) -> bool:
        return bool((self.probes or {}).get("ran"))

    @property
    def mismatch_count(self) -> int:
        return len((self.probes or {}).get("mismatches") or [])
