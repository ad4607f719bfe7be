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
