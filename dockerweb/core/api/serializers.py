from django.contrib.auth import authenticate
from rest_framework import serializers

from dockerweb.core.models import Activity, BindRoot

from . import params


class TokenInput(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})

    def validate(self, attrs):
        user = authenticate(request=self.context.get("request"), username=attrs["username"], password=attrs["password"])
        if user is None or not user.is_active:
            raise serializers.ValidationError("Wrong user name or password.", code="authorization")
        attrs["user"] = user
        return attrs


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()


class ActivityFilters(serializers.Serializer):
    user = params.text("Exactly this user name.", max_length=150)
    action = params.text("Actions starting with this, e.g. `network.` or `container.run`.", max_length=64)
    host = params.text("Exactly this host.", max_length=63)
    outcome = serializers.ChoiceField(choices=Activity.Outcome.values, required=False, allow_blank=True)
    q = params.text("Text in the target.")


class ActivitySerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="username")

    class Meta:
        model = Activity
        fields = ["at", "user", "action", "host", "target", "outcome", "detail"]


class BindRootSerializer(serializers.ModelSerializer):
    exists = serializers.BooleanField(read_only=True, help_text="Whether the folder exists on dockerweb's machine.")
    origin = serializers.ChoiceField(choices=BindRoot.Origin.values, read_only=True,
                                     help_text="`environment`: DOCKERWEB_BIND_ALLOWLIST's first value; "
                                               "`settings`: added by an admin.")
    added_by = serializers.CharField(source="added_by_name", read_only=True, help_text="Empty for `environment`.")
    created = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = BindRoot
        fields = ["path", "exists", "origin", "added_by", "created"]


class BindRootInput(serializers.Serializer):
    refuses_unknown_fields = True  # see `validate`; stated in the schema (core/api/schema.py)
    path = serializers.CharField(max_length=1024, help_text="An absolute path of an existing folder.")

    def validate(self, attrs):
        extra = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if extra:
            raise serializers.ValidationError({extra[0]: [f"Unknown field {extra[0]!r}."]})
        return attrs


class BindRootParams(serializers.Serializer):
    path = serializers.CharField(max_length=1024, help_text="The folder to take off the list.")
