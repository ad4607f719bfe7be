"""Contract shapes of the mirror (see DESIGN.md, REST API contract)."""
from rest_framework import serializers

from dockerweb.inventory.models import Container, Host, Network, Volume


class HostSerializer(serializers.ModelSerializer):
    class Meta:
        model = Host
        fields = ["name", "url", "status", "last_seen", "last_error", "engine_version", "info", "watching_since",
                  "created"]


class HostCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=63)
    url = serializers.CharField(max_length=255)
    tls_ca = serializers.CharField(required=False, allow_blank=True, default="")
    tls_cert = serializers.CharField(required=False, allow_blank=True, default="")
    tls_key = serializers.CharField(required=False, allow_blank=True, default="")
    tls_verify = serializers.BooleanField(required=False, default=True)


class NetworkSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="engine_id")
    ipam = serializers.SerializerMethodField()
    containers = serializers.SerializerMethodField()

    class Meta:
        model = Network
        fields = ["id", "name", "driver", "scope", "internal", "attachable", "enable_ipv6", "created", "options",
                  "labels", "ipam", "containers"]

    def get_ipam(self, obj) -> dict:
        return {"driver": obj.ipam_driver, "options": obj.ipam_options, "config": obj.ipam_config}

    def get_containers(self, obj) -> list:
        # As `docker network inspect`: only live endpoints (a stopped container keeps its
        # configured networks, shown on the container, but holds no endpoint).
        return [
            {"id": e.container.engine_id, "name": e.container.name, "ipv4_address": e.ipv4_address,
             "ipv6_address": e.ipv6_address, "mac_address": e.mac_address, "aliases": e.aliases}
            for e in obj.endpoints.all() if e.endpoint_id
        ]


class ContainerSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="engine_id")
    networks = serializers.SerializerMethodField()
    ports = serializers.SerializerMethodField()
    mounts = serializers.SerializerMethodField()

    class Meta:
        model = Container
        fields = ["id", "name", "image", "state", "status", "network_mode", "networks", "ports", "mounts", "links",
                  "labels", "created", "command", "restart_policy", "privileged", "auto_remove"]

    def get_networks(self, obj) -> dict:
        return {
            e.network_name: {"ipv4_address": e.ipv4_address, "ipv6_address": e.ipv6_address,
                             "mac_address": e.mac_address, "aliases": e.aliases, "gateway": e.gateway}
            for e in obj.endpoints.all()
        }

    def get_ports(self, obj) -> list:
        return [{"container_port": p.container_port, "protocol": p.protocol, "host_ip": p.host_ip,
                 "host_port": p.host_port} for p in obj.ports.all()]

    def get_mounts(self, obj) -> list:
        return [{"type": m.type, "name": m.name, "source": m.source, "destination": m.destination,
                 "read_only": m.read_only} for m in obj.mounts.all()]


class VolumeSerializer(serializers.ModelSerializer):
    used_by = serializers.SerializerMethodField()

    class Meta:
        model = Volume
        fields = ["name", "driver", "mountpoint", "scope", "created", "labels", "options", "anonymous", "size", "used_by"]

    def get_used_by(self, obj) -> list:
        return [{"container": m.container.engine_id, "name": m.container.name, "destination": m.destination,
                 "read_only": m.read_only} for m in obj.mounts.all()]
