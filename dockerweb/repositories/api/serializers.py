from rest_framework import serializers

from dockerweb.backups.models import Consistency
from dockerweb.repositories.models import Repository


class LastCheckSerializer(serializers.Serializer):
    at = serializers.DateTimeField(allow_null=True)
    ok = serializers.BooleanField(allow_null=True)
    message = serializers.CharField()


class RepositorySerializer(serializers.ModelSerializer):
    last_check = serializers.SerializerMethodField()

    class Meta:
        model = Repository
        fields = ["id", "name", "kind", "location", "known_host", "copy_to", "check_cron", "status", "last_check",
                  "created"]

    def get_last_check(self, r) -> dict:
        return LastCheckSerializer({"at": r.last_check_at, "ok": r.last_check_ok,
                                    "message": r.last_check_message}).data


class RepositoryInput(serializers.Serializer):
    name = serializers.CharField(max_length=63)
    kind = serializers.ChoiceField(choices=Repository.Kind.choices)
    location = serializers.CharField(max_length=1024)
    password = serializers.CharField(write_only=True, max_length=1024, trim_whitespace=False)
    ssh_key = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=20000,
                                    trim_whitespace=False, help_text="SFTP: the OpenSSH private key (no passphrase).")
    known_host = serializers.CharField(required=False, allow_blank=True, max_length=20000,
                                       help_text="SFTP: the server's host key as ssh-keyscan prints it.")
    check_cron = serializers.CharField(required=False, allow_blank=True, max_length=100,
                                       help_text="When `restic check` runs on its own (cron, UTC; default Sundays "
                                                 "04:00); empty: never.")
    copy_to = serializers.PrimaryKeyRelatedField(queryset=Repository.objects.all(), required=False, allow_null=True,
                                                 help_text="A second repository that receives a copy of every "
                                                           "snapshot (offsite).")


class SnapshotSerializer(serializers.Serializer):
    id = serializers.CharField()
    short_id = serializers.CharField()
    time = serializers.DateTimeField()
    host = serializers.CharField()
    volume = serializers.CharField()
    size_added = serializers.IntegerField(allow_null=True, help_text="Bytes this snapshot added to the repository.")
    file_count = serializers.IntegerField(allow_null=True)
    total_size = serializers.IntegerField(allow_null=True, help_text="Bytes of the volume's files it holds.")


class SnapshotFilters(serializers.Serializer):
    host = serializers.CharField(required=False, default="", max_length=63)
    volume = serializers.CharField(required=False, default="", max_length=255)


class SnapshotInput(serializers.Serializer):
    repository = serializers.PrimaryKeyRelatedField(queryset=Repository.objects.all())
    consistency = serializers.ChoiceField(choices=Consistency.choices, default="none")


class SnapshotRestoreInput(serializers.Serializer):
    host = serializers.CharField(max_length=63, help_text="The host of the target volume.")
    volume = serializers.CharField(max_length=255, help_text="The target volume.")
    create = serializers.BooleanField(default=False, help_text="Create the volume if it does not exist.")
    overwrite = serializers.BooleanField(default=False, help_text="Replace what the volume holds (after a safety "
                                                                  "backup of it).")
    paths = serializers.ListField(
        child=serializers.CharField(max_length=4096, trim_whitespace=False), required=False, max_length=1000,
        help_text="Restore only these files or folders, as the snapshot's file list shows them (/sub/file.txt); "
                  "each replaces what the volume holds there, the rest stays. Empty: the whole snapshot.")
