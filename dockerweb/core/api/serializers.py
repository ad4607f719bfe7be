from django.contrib.auth import authenticate
from rest_framework import serializers

from dockerweb.core.models import Activity

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
