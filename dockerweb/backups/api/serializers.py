from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dockerweb.backups.models import Backup, Compression, Consistency, Restore, Schedule
from dockerweb.backups.schedules import KEEP_MAX
from dockerweb.core.api import params
from dockerweb.core.models import JobStatus as Status
from dockerweb.repositories.models import Repository


class ArchiveSerializer(serializers.Serializer):
    size = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField()
    compression = serializers.CharField()
    format = serializers.CharField()
    file_count = serializers.IntegerField(allow_null=True)
    strip_components = serializers.IntegerField()


class JobFields(serializers.ModelSerializer):
    host = serializers.CharField(source="host_name")
    job = serializers.CharField(source="job_key", read_only=True)
    bytes_done = serializers.IntegerField(read_only=True, help_text=(
        "Bytes of the files' own content read so far (tar headers and compression aside); once done, "
        "what was backed up or restored."))
    bytes_total = serializers.IntegerField(read_only=True, help_text=(
        "Bytes of the files' own content in all; 0 while unknown (an import learns it as it reads)."))


class BackupSerializer(JobFields):
    archive = serializers.SerializerMethodField()
    schedule = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True,
                                                  help_text="The schedule that made it; null if none.")
    repository = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True,
                                                    help_text="Set: a snapshot into this repository, not an archive.")
    snapshot = serializers.CharField(read_only=True, help_text="The snapshot's id in the repository, once made.")

    class Meta:
        model = Backup
        fields = ["id", "job", "host", "volume", "status", "progress", "bytes_done", "bytes_total", "throughput", "eta",
                  "archive", "consistency", "origin", "schedule", "repository", "snapshot", "created", "started",
                  "finished", "error", "worker"]

    @extend_schema_field(ArchiveSerializer)
    def get_archive(self, b):
        return ArchiveSerializer({"size": b.size, "sha256": b.sha256, "compression": b.compression, "format": b.format,
                                  "file_count": b.file_count, "strip_components": b.strip_components}).data


class RestoreSerializer(JobFields):
    backup = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True,
                                                help_text="Null once the backup has been deleted.")
    safety_backup = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True,
                                                       help_text="The copy taken before overwriting, if any.")
    repository = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True,
                                                    help_text="Set: restores `snapshot` of this repository.")

    class Meta:
        model = Restore
        fields = ["id", "job", "backup", "repository", "snapshot", "host", "volume", "create", "overwrite",
                  "strip_components", "paths", "status",
                  "progress", "bytes_done", "bytes_total", "throughput", "eta", "safety_backup", "file_count",
                  "created", "started", "finished", "error", "worker"]

    paths = serializers.ListField(child=serializers.CharField(), read_only=True,
                                  help_text="The chosen paths restored (as the backup's file list shows them); empty: "
                                            "the whole archive.")


class BackupInput(serializers.Serializer):
    compression = serializers.ChoiceField(choices=Compression.choices, default="zstd")
    consistency = serializers.ChoiceField(choices=Consistency.choices, default="none")


class RestoreInput(serializers.Serializer):
    host = serializers.CharField(required=False, help_text="Host name; default: the backup's host.")
    volume = serializers.CharField(required=False, help_text="Target volume; default: the backed-up volume.")
    create = serializers.BooleanField(default=False)
    overwrite = serializers.BooleanField(default=False)
    strip_components = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=20)
    paths = serializers.ListField(
        child=serializers.CharField(max_length=4096, trim_whitespace=False), required=False, max_length=1000,
        help_text="Restore only these files or folders, as `GET /api/backups/{id}/files/` shows them (/sub/file.txt); "
                  "each replaces what the volume holds there, the rest of the volume stays (replacing needs "
                  "`overwrite`). Each must be in the archive. Empty: the whole archive.")


class ImportInput(serializers.Serializer):
    file = serializers.FileField()
    volume = serializers.CharField(required=False, allow_blank=True, help_text="A name to file it under.")
    host = serializers.CharField(required=False, allow_blank=True)
    strip_components = serializers.IntegerField(default=0, min_value=0, max_value=20)


class ScheduleSerializer(serializers.ModelSerializer):
    host = serializers.CharField(source="host.name")
    next_run = serializers.SerializerMethodField()
    next_runs = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()

    class Meta:
        model = Schedule
        fields = ["id", "host", "volume", "label", "cron", "description", "keep_last", "keep_hourly", "keep_daily",
                  "keep_weekly", "keep_monthly", "compression", "consistency", "repository", "enabled", "last_run",
                  "last_status", "last_error", "next_run", "next_runs"]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_run(self, s):
        from dockerweb.backups.schedules import schedule_next_run
        return schedule_next_run(s)

    @extend_schema_field(serializers.ListField(child=serializers.DateTimeField()))
    def get_next_runs(self, s):
        from dockerweb.backups.schedules import cron_next_runs
        try:
            return cron_next_runs(s.cron, count=5) if s.enabled else []
        except Exception:
            return []

    @extend_schema_field(serializers.CharField())
    def get_description(self, s):
        from dockerweb.backups.schedules import cron_describe
        return cron_describe(s.cron)


class ScheduleInput(serializers.Serializer):
    """Create (cron required) and PATCH (any subset: the schema's PatchedScheduleInput)."""

    host = serializers.CharField(required=False)
    volume = serializers.CharField(required=False, allow_blank=True)
    label = serializers.CharField(required=False, allow_blank=True)
    cron = serializers.CharField(max_length=200)
    keep_last = serializers.IntegerField(required=False, min_value=0, max_value=KEEP_MAX)
    keep_hourly = serializers.IntegerField(required=False, min_value=0, max_value=KEEP_MAX)
    keep_daily = serializers.IntegerField(required=False, min_value=0, max_value=KEEP_MAX)
    keep_weekly = serializers.IntegerField(required=False, min_value=0, max_value=KEEP_MAX)
    keep_monthly = serializers.IntegerField(required=False, min_value=0, max_value=KEEP_MAX)
    compression = serializers.ChoiceField(choices=Compression.choices, required=False)
    repository = serializers.PrimaryKeyRelatedField(queryset=Repository.objects.all(), required=False, allow_null=True,
                                                    help_text="Snapshots into this repository instead of archives.")
    consistency = serializers.ChoiceField(choices=Consistency.choices, required=False)
    enabled = serializers.BooleanField(required=False)


class BackupFilters(serializers.Serializer):
    host = params.text("Exactly this host.", max_length=63)
    volume = params.text("Exactly this volume.")
    status = serializers.ChoiceField(choices=Status.choices, required=False, allow_blank=True)
    origin = serializers.ChoiceField(choices=Backup.Origin.choices, required=False, allow_blank=True)


class RestoreFilters(serializers.Serializer):
    backup = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                      help_text="Restores of this backup.")
    host = params.text("Exactly this host.", max_length=63)


class CronPreviewParams(serializers.Serializer):
    cron = serializers.CharField(max_length=200, help_text="Five fields: minute hour day-of-month month day-of-week.")
    count = serializers.IntegerField(required=False, default=5, min_value=1, max_value=100,
                                     help_text="How many next runs to list.")


class CronPreviewSerializer(serializers.Serializer):
    cron = serializers.CharField()
    description = serializers.CharField()
    next_runs = serializers.ListField(child=serializers.DateTimeField())
