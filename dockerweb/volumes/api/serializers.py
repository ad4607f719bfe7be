from rest_framework import serializers


class VolumeCreateInput(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, default="")
    driver = serializers.CharField(required=False, default="local")
    driver_opts = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({unknown[0]: [f"Unknown field; known: {', '.join(self.fields)}."]})
        return attrs


class VolumePruneInput(serializers.Serializer):
    dry_run = serializers.BooleanField(required=False, default=False)


class VolumePruneResult(serializers.Serializer):
    removed = serializers.ListField(child=serializers.CharField())
    kept = serializers.ListField(child=serializers.CharField(), required=False)
    dry_run = serializers.BooleanField()
