"""Repositories: places where snapshots of volumes are kept incrementally, deduplicated,
compressed and encrypted (by restic, `repositories.restic`). A snapshot is made by a backup job
(`backups.Backup` with `repository` set, `snapshot` its restic id once done); the snapshots
themselves live in the repository, not in the database (it is their one truth)."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from dockerweb.core.secrets import unseal


class Repository(models.Model):
    class Kind(models.TextChoices):
        LOCAL = "local", "local folder"
        SFTP = "sftp", "SFTP server"

    class Status(models.TextChoices):
        OK = "ok", "ok"
        ERROR = "error", "error"
        UNKNOWN = "unknown", "not checked yet"

    name = models.CharField(max_length=63, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    location = models.CharField(max_length=1024, help_text="A folder on the workers' machine, or "
                                                          "sftp://user@host[:port]/path")
    password_sealed = models.TextField(help_text="The repository's password, sealed (core.secrets).")
    ssh_key_sealed = models.TextField(blank=True, help_text="SFTP: the private key, sealed.")
    known_host = models.TextField(blank=True, help_text="SFTP: the server's pinned host key (`type base64`).")
    copy_to = models.ForeignKey(to="self", on_delete=models.SET_NULL, null=True, blank=True, related_name="copies_from",
                                help_text="A second repository (offsite) that receives a copy of every snapshot.")
    check_cron = models.CharField(max_length=100, blank=True, default="0 4 * * 0",
                                  help_text="When `restic check` runs (cron, UTC); empty: never on its own.")
    check_task = models.OneToOneField(to="django_celery_beat.PeriodicTask", on_delete=models.SET_NULL, null=True,
                                      blank=True, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.UNKNOWN)
    last_check_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True, blank=True)
    last_check_message = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ("name",)
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return f"repository {self.name}"

    def target(self):
        """How restic opens it, secrets unsealed (for one job)."""
        from .restic import Target

        return Target(kind=self.kind, location=self.location, password=unseal(self.password_sealed),
                      ssh_key=unseal(self.ssh_key_sealed), known_host=self.known_host)
