from rest_framework import serializers


class IpamConfigInput(serializers.Serializer):
    subnet = serializers.CharField(required=False, allow_blank=True, default="")
    gateway = serializers.CharField(required=False, allow_blank=True, default="")
    ip_range = serializers.CharField(required=False, allow_blank=True, default="")
    aux_addresses = serializers.DictField(child=serializers.CharField(), required=False, default=dict)


class IpamInput(serializers.Serializer):
    driver = serializers.CharField(required=False, default="default")
    config = IpamConfigInput(many=True, required=False, default=list)


class NetworkCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    driver = serializers.CharField(required=False, default="bridge")
    internal = serializers.BooleanField(required=False, default=False)
    attachable = serializers.BooleanField(required=False, default=False)
    enable_ipv6 = serializers.BooleanField(required=False, default=False)
    options = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    ipam = IpamInput(required=False)
