from rest_framework import serializers

from dockerweb.core.api import params


class VolumeCreateInput(serializers.Serializer):
    refuses_unknown_fields = True  # see `validate`; stated in the schema (core/api/schema.py)

    name = serializers.RegexField(r"^([a-zA-Z0-9][a-zA-Z0-9_.-]+)?\Z", required=False, allow_blank=True, default="",
                                  max_length=255, help_text="Empty: an anonymous volume with a random name.",
                                  error_messages={"invalid": "A volume name uses letters, digits, '_', '.', '-' "
                                                             "(two or more, starting with a letter or digit)."})
    driver = serializers.CharField(required=False, default="local")
    driver_opts = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({unknown[0]: [f"Unknown field; known: {', '.join(self.fields)}."]})
        return attrs


class VolumeGetParams(serializers.Serializer):
    sizes = params.flag("Ask the engine for the size (slow).")


class VolumeRemoveParams(serializers.Serializer):
    force = params.flag("Remove it even while containers use it (admins only).")


class VolumePruneInput(serializers.Serializer):
    dry_run = serializers.BooleanField(required=False, default=False)


class VolumePruneResult(serializers.Serializer):
    removed = serializers.ListField(child=serializers.CharField())
    kept = serializers.ListField(child=serializers.CharField(), required=False)
    dry_run = serializers.BooleanField()


ENTRY_TYPES = ("file", "dir", "symlink", "hardlink", "fifo", "socket", "device", "other")


class FileEntrySerializer(serializers.Serializer):
    """One entry of a folder, of a volume or of a backup's archive (same shape for both)."""

    name = serializers.CharField(help_text="The entry's name (bytes that are not UTF-8 shown as U+FFFD).")
    type = serializers.ChoiceField(choices=ENTRY_TYPES, help_text="hardlink: only in archives (a second name of a "
                                                                  "file stored earlier; link_target names it).")
    size = serializers.IntegerField(help_text="Bytes of a file's content; 0 for everything else.")
    mode = serializers.IntegerField(allow_null=True, help_text="Permission bits (420 is 0644); null when an "
                                                               "archive holds the folder only implicitly.")
    uid = serializers.IntegerField(allow_null=True)
    gid = serializers.IntegerField(allow_null=True)
    mtime = serializers.IntegerField(allow_null=True, help_text="Last modification, seconds since the epoch.")
    link_target = serializers.CharField(allow_null=True, help_text="A symbolic link's text (never followed), or the "
                                                                   "path a hard link names; null for the rest.")


class FilesListingSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="The folder listed, as shown: / is the volume's root.")
    entries = FileEntrySerializer(many=True, help_text="Folders first, then by name.")
    truncated = serializers.BooleanField(help_text="The folder holds more entries than were listed "
                                                   "(DOCKERWEB_FILES_LIST_MAX).")


class FilesParams(serializers.Serializer):
    path = serializers.CharField(required=False, default="/", allow_blank=True, trim_whitespace=False,
                                 max_length=4096, help_text="A folder, from the root: / or /sub/folder. `..` and paths "
                                                            "through a symbolic link are refused.")


class FileContentParams(serializers.Serializer):
    path = serializers.CharField(trim_whitespace=False, max_length=4096,
                                 help_text="A regular file, from the root: /sub/file.txt.")
    download = params.flag("The whole file, any size, as an attachment (without: the file to show, up to "
                           "DOCKERWEB_FILES_VIEW_MAX_BYTES; 413 beyond).")


class VolumeRemoveManyInput(serializers.Serializer):
    # Each name as given, even blank: each one gets its own answer in `errors`.
    volumes = serializers.ListField(child=serializers.CharField(allow_blank=True, trim_whitespace=False),
                                    allow_empty=False, min_length=1)


class VolumeRemoveManyOutput(serializers.Serializer):
    removed = serializers.ListField(child=serializers.CharField())
    errors = serializers.DictField(child=serializers.CharField())
