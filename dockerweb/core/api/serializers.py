from django.contrib.auth import authenticate
from rest_framework import serializers

from dockerweb.core.models import Activity


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


class ActivitySerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="username")

    class Meta:
        model = Activity
        fields = ["at", "user", "action", "host", "target", "outcome", "detail"]
