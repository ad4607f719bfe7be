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
