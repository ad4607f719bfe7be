from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dockerweb.backups.models import Backup, Compression, Consistency, Restore, Schedule


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


class BackupSerializer(JobFields):
    archive = serializers.SerializerMethodField()
    schedule = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Backup
        fields = ["id", "job", "host", "volume", "status", "progress", "bytes_done", "bytes_total", "throughput", "eta",
                  "archive", "consistency", "origin", "schedule", "created", "started", "finished", "error"]

    @extend_schema_field(ArchiveSerializer)
    def get_archive(self, b):
        return ArchiveSerializer({"size": b.size, "sha256": b.sha256, "compression": b.compression, "format": b.format,
                                  "file_count": b.file_count, "strip_components": b.strip_components}).data


class RestoreSerializer(JobFields):
    backup = serializers.PrimaryKeyRelatedField(read_only=True)
    safety_backup = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Restore
        fields = ["id", "job", "backup", "host", "volume", "create", "overwrite", "strip_components", "status",
                  "progress", "bytes_done", "bytes_total", "throughput", "eta", "safety_backup", "file_count",
                  "created", "started", "finished", "error"]


class BackupInput(serializers.Serializer):
    compression = serializers.ChoiceField(choices=Compression.values, default="zstd")
    consistency = serializers.ChoiceField(choices=Consistency.values, default="none")


class RestoreInput(serializers.Serializer):
    host = serializers.CharField(required=False, help_text="Host name; default: the backup's host.")
    volume = serializers.CharField(required=False, help_text="Target volume; default: the backed-up volume.")
    create = serializers.BooleanField(default=False)
    overwrite = serializers.BooleanField(default=False)
    strip_components = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=20)


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
        fields = ["id", "host", "volume", "label", "cron", "description", "keep_last", "keep_daily", "keep_weekly",
                  "compression", "consistency", "enabled", "last_run", "last_status", "last_error", "next_run",
                  "next_runs"]

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
    host = serializers.CharField(required=False)
    volume = serializers.CharField(required=False, allow_blank=True)
    label = serializers.CharField(required=False, allow_blank=True)
    cron = serializers.CharField(required=False)
    keep_last = serializers.IntegerField(required=False, min_value=0)
    keep_daily = serializers.IntegerField(required=False, min_value=0)
    keep_weekly = serializers.IntegerField(required=False, min_value=0)
    compression = serializers.ChoiceField(choices=Compression.values, required=False)
    consistency = serializers.ChoiceField(choices=Consistency.values, required=False)
    enabled = serializers.BooleanField(required=False)


class CronPreviewSerializer(serializers.Serializer):
    cron = serializers.CharField()
    description = serializers.CharField()
    next_runs = serializers.ListField(child=serializers.DateTimeField())
