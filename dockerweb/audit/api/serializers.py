from rest_framework import serializers

from dockerweb.audit.models import Audit


class FindingSerializer(serializers.Serializer):
    rule = serializers.CharField()
    severity = serializers.CharField()
    subject = serializers.CharField()
    message = serializers.CharField()
    evidence = serializers.JSONField()
    fix = serializers.CharField(required=False)
    cis = serializers.CharField(required=False, allow_blank=True)


class AuditLiveSerializer(serializers.Serializer):
    """GET /api/hosts/{host}/audit/: the contract's `findings`, plus the matrix it came from."""

    host = serializers.CharField()
    findings = FindingSerializer(many=True)
    matrix = serializers.JSONField()


class AuditRunInput(serializers.Serializer):
    probe = serializers.BooleanField(default=False, help_text="Prove every pair with live probes.")
    refresh = serializers.BooleanField(default=True, help_text="Reconcile the mirror with the engine first.")
    background = serializers.BooleanField(required=False, allow_null=True, default=None,
                                          help_text="Run in a worker (202, poll the audit); default: when probing.")


class AuditProbeInput(serializers.Serializer):
    source = serializers.CharField(required=False, allow_blank=True, default="")
    target = serializers.CharField(required=False, allow_blank=True, default="")
    network = serializers.CharField(required=False, allow_blank=True, default="")


class AuditCompareParams(serializers.Serializer):
    a = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The earlier saved audit.")
    b = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The later saved audit.")


class AuditSummarySerializer(serializers.ModelSerializer):
    host = serializers.CharField(source="host.name")
    created_by = serializers.CharField(source="username")
    probed = serializers.BooleanField()

    class Meta:
        model = Audit
        fields = ("id", "host", "created", "created_by", "status", "progress", "error", "finished", "probed", "summary", "worker")


class AuditSerializer(AuditSummarySerializer):
    class Meta:
        model = Audit
        fields = ("id", "host", "created", "created_by", "status", "progress", "error", "finished", "probed", "summary", "worker",
                  "findings", "matrix", "probes")
