"""Backup and restore jobs, and backup schedules.

A `Backup` is both the job that made an archive and the archive itself (file in the archive
store, its SHA-256, size and manifest). A `Restore` is the job that extracts an archive into a
volume of some host. Both are jobs (`core.models.Job`: status, progress, timings, error and the
claim) that move bytes (`TransferJob`)."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from dockerweb.core.models import Job

from .store import manifest_of


class Compression(models.TextChoices):
    ZSTD = "zstd", "zstd"
    FAST = "fast", "fast (zstd at a negative level: quicker, larger)"
    GZIP = "gzip", "gzip"
    NONE = "none", "none (plain tar)"


class Consistency(models.TextChoices):
    NONE = "none", "none — copy while containers run"
    PAUSE = "pause", "pause the containers using the volume"
    STOP = "stop", "stop the containers using the volume"


class TransferJob(Job):
    """A job that moves a volume's bytes (a backup, a restore): how many, how fast, how long
    still, for its progress bar."""

    bytes_done = models.BigIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0, help_text="0 while unknown")
    throughput = models.FloatField(default=0.0, help_text="bytes per second, recent")
    eta = models.FloatField(null=True, blank=True, help_text="seconds left, when known")

    class Meta:
        abstract = True

    def live_fields(self) -> dict:
        return {"volume": self.volume, "bytes_done": self.bytes_done, "bytes_total": self.bytes_total,
                "throughput": round(self.throughput, 1), "eta": None if self.eta is None else round(self.eta, 1)}


class Backup(TransferJob):
    """An archive of one volume in the archive store, and the job that made it."""

    class Origin(models.TextChoices):
        MANUAL = "manual", "manual"
        SCHEDULE = "schedule", "schedule"
        IMPORT = "import", "imported"
        SAFETY = "safety", "safety copy before a restore"

    KIND = "backup"

    host = models.ForeignKey(to="inventory.Host", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="backups", help_text="Where the volume lives (none for imports).")
    host_name = models.CharField(max_length=63, blank=True, help_text="Kept when the host is removed.")
    volume = models.CharField(max_length=255, db_index=True)
    compression = models.CharField(max_length=8, choices=Compression.choices, default=Compression.ZSTD)
    consistency = models.CharField(max_length=8, choices=Consistency.choices, default=Consistency.NONE)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.MANUAL)
    schedule = models.ForeignKey(to="backups.Schedule", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="backups")
    path = models.CharField(max_length=1024, blank=True, help_text="Archive file, relative to the archive store.")
    tmp_path = models.CharField(max_length=1024, blank=True, help_text="Temporary name while being written.")
    size = models.BigIntegerField(null=True, blank=True, help_text="Archive bytes on disk.")
    sha256 = models.CharField(max_length=64, blank=True)
    format = models.CharField(max_length=16, default="tar")
    file_count = models.IntegerField(null=True, blank=True)
    strip_components = models.PositiveSmallIntegerField(
        default=1, help_text="Leading path parts a restore strips by default (ours: the `data/` folder).")
    held_containers = models.JSONField(default=list, blank=True,
                                       help_text="[{id, name, action}] paused or stopped for the copy")
    repository = models.ForeignKey(to="repositories.Repository", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="snapshots",
                                   help_text="Set: a snapshot into this repository instead of an archive.")
    snapshot = models.CharField(max_length=64, blank=True, help_text="The repository's id of the snapshot made.")
    doors = models.JSONField(default=list, blank=True,
                             help_text="[[action, reason]]: the volume's ways to the host when it was backed up "
                                       "(containers.safety.volume_doors); whoever downloads or restores the "
                                       "archive must be allowed them all")

    class Meta:
        ordering = ("-created", "-id")

    def __str__(self) -> str:
        return f"backup {self.pk} of {self.host_name}/{self.volume}"

    @property
    def manifest_path(self) -> str:
        """Its manifest, relative to the archive store ("" while it has no archive)."""
        return manifest_of(self.path)


class Restore(TransferJob):
    """Extracting an archive into a volume of a host (another host makes it a migration)."""

    KIND = "restore"

    backup = models.ForeignKey(to=Backup, on_delete=models.SET_NULL, null=True, blank=True, related_name="restores")
    repository = models.ForeignKey(to="repositories.Repository", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="restores", help_text="Set: restores `snapshot` of this repository.")
    snapshot = models.CharField(max_length=64, blank=True)
    host = models.ForeignKey(to="inventory.Host", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="restores")
    host_name = models.CharField(max_length=63, blank=True)
    volume = models.CharField(max_length=255)
    create = models.BooleanField(default=False, help_text="Create the volume if it does not exist.")
    overwrite = models.BooleanField(default=False, help_text="Replace a non-empty volume (after a safety backup).")
    strip_components = models.PositiveSmallIntegerField(default=0)
    created_volume = models.BooleanField(default=False, help_text="This job created the target volume.")
    safety_backup = models.ForeignKey(to=Backup, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    file_count = models.IntegerField(null=True, blank=True)
    paths = models.JSONField(default=list, blank=True,
                             help_text="The chosen paths (as shown, e.g. /sub/file.txt) to restore, each replaced "
                                       "alone while the rest of the volume stays; empty: the whole archive.")

    class Meta:
        ordering = ("-created", "-id")

    def __str__(self) -> str:
        return f"restore {self.pk} into {self.host_name}/{self.volume}"


class Schedule(models.Model):
    """Back up one volume, or every volume with a label, of a host on a cron schedule, and keep
    only what the retention rules say. Runs through a django-celery-beat PeriodicTask."""

    host = models.ForeignKey(to="inventory.Host", on_delete=models.CASCADE, related_name="backup_schedules")
    volume = models.CharField(max_length=255, blank=True, help_text="One volume's name, or empty to use the label.")
    label = models.CharField(max_length=255, blank=True, help_text="Every volume with this label: key or key=value.")
    cron = models.CharField(max_length=100, help_text="minute hour day-of-month month day-of-week, e.g. '0 3 * * *'")
    keep_last = models.PositiveIntegerField(default=7)
    keep_daily = models.PositiveIntegerField(default=0)
    keep_hourly = models.PositiveIntegerField(default=0)
    keep_weekly = models.PositiveIntegerField(default=0)
    keep_monthly = models.PositiveIntegerField(default=0)
    repository = models.ForeignKey(to="repositories.Repository", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="schedules",
                                   help_text="Set: snapshots into this repository instead of archives.")
    compression = models.CharField(max_length=8, choices=Compression.choices, default=Compression.ZSTD)
    consistency = models.CharField(max_length=8, choices=Consistency.choices, default=Consistency.NONE)
    enabled = models.BooleanField(default=True)
    last_run = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=10, blank=True)
    last_error = models.TextField(blank=True)
    periodic_task = models.OneToOneField(to="django_celery_beat.PeriodicTask", on_delete=models.SET_NULL, null=True,
                                         blank=True, related_name="+")
    created_by = models.ForeignKey(to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("host__name", "volume", "label", "id")

    def __str__(self) -> str:
        return f"schedule {self.pk}: {self.target_label} on {self.host.name} at '{self.cron}'"

    @property
    def target_label(self) -> str:
        return self.volume or f"volumes labelled {self.label}"
