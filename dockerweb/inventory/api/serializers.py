"""Contract shapes of the mirror (see DESIGN.md, REST API contract). Nested shapes are
serializers too, so the schema states each field's type and whether it can be null."""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dockerweb.core.api import params
from dockerweb.inventory.models import Container, Host, Network, Volume


class AgentSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True, help_text="The agent's Celery node name.")
    alive = serializers.BooleanField()
    last_seen = serializers.DateTimeField(allow_null=True)


class HostSerializer(serializers.ModelSerializer):
    agent = serializers.SerializerMethodField(help_text="The worker beside this host's engine (scripts/serve.sh "
                                                        "agent), while one runs; its jobs run there.")

    class Meta:
        model = Host
        fields = ["name", "url", "status", "last_seen", "last_error", "engine_version", "info", "watching_since", "watcher",
                  "agent", "created"]

    @extend_schema_field(AgentSerializer)
    def get_agent(self, obj) -> dict:
        from datetime import datetime, timezone

        from dockerweb.inventory.agents import agent_status

        status = agent_status(obj.name)
        if status is None:
            return {"name": "", "alive": False, "last_seen": None}
        seen = status.get("last_seen")
        return {"name": status.get("name", ""), "alive": True,
                "last_seen": datetime.fromtimestamp(seen, tz=timezone.utc) if seen else None}


class HostCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=63)
    url = serializers.CharField(max_length=255, help_text="unix:///path/to/docker.sock or tcp://host:port")
    tls_ca = serializers.CharField(required=False, allow_blank=True, default="", help_text="PEM")
    tls_cert = serializers.CharField(required=False, allow_blank=True, default="", help_text="PEM")
    tls_key = serializers.CharField(required=False, allow_blank=True, default="", help_text="PEM")
    tls_verify = serializers.BooleanField(required=False, default=True)


# --- nested shapes (responses) ------------------------------------------------------------------

class IpamConfigSerializer(serializers.Serializer):
    subnet = serializers.CharField(allow_blank=True)
    gateway = serializers.CharField(allow_blank=True)
    ip_range = serializers.CharField(allow_blank=True)
    aux_addresses = serializers.DictField(child=serializers.CharField())


class IpamSerializer(serializers.Serializer):
    driver = serializers.CharField()
    options = serializers.DictField(child=serializers.CharField(allow_blank=True))
    config = IpamConfigSerializer(many=True)


class NetworkEndpointSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The container's id.")
    name = serializers.CharField()
    ipv4_address = serializers.CharField(allow_blank=True)
    ipv6_address = serializers.CharField(allow_blank=True)
    mac_address = serializers.CharField(allow_blank=True)
    aliases = serializers.ListField(child=serializers.CharField())


class ContainerEndpointSerializer(serializers.Serializer):
    ipv4_address = serializers.CharField(allow_blank=True)
    ipv6_address = serializers.CharField(allow_blank=True)
    mac_address = serializers.CharField(allow_blank=True)
    aliases = serializers.ListField(child=serializers.CharField())
    gateway = serializers.CharField(allow_blank=True)
    network_id = serializers.CharField(allow_blank=True, help_text="The network's id as the container holds it "
                                                                   "(empty until a container first starts).")
    network_missing = serializers.BooleanField(help_text="The network no longer exists: the container cannot "
                                                         "start until this entry is disconnected.")


class PortBindingSerializer(serializers.Serializer):
    container_port = serializers.IntegerField()
    protocol = serializers.CharField()
    host_ip = serializers.CharField(allow_blank=True)
    host_port = serializers.IntegerField(allow_null=True, help_text="Null when exposed but not published.")


class MountSerializer(serializers.Serializer):
    type = serializers.CharField()
    name = serializers.CharField(allow_blank=True, help_text="The volume's name (type volume).")
    source = serializers.CharField(allow_blank=True)
    destination = serializers.CharField()
    read_only = serializers.BooleanField()


class VolumeUserSerializer(serializers.Serializer):
    container = serializers.CharField(help_text="The container's id.")
    name = serializers.CharField()
    destination = serializers.CharField()
    read_only = serializers.BooleanField()


# --- objects ------------------------------------------------------------------------------------

def _related(obj, rows: str, manager: str):
    """The related rows a list selector attached as a plain list (`as_lists`), else the
    manager's (one object, e.g. a detail answer)."""
    attached = getattr(obj, rows, None)
    return attached if attached is not None else getattr(obj, manager).all()


class NetworkSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="engine_id")
    ipam = serializers.SerializerMethodField()
    containers = serializers.SerializerMethodField()

    class Meta:
        model = Network
        fields = ["id", "name", "driver", "scope", "internal", "attachable", "enable_ipv6", "created", "options",
                  "labels", "ipam", "containers"]

    @extend_schema_field(IpamSerializer)
    def get_ipam(self, obj) -> dict:
        return {"driver": obj.ipam_driver, "options": obj.ipam_options, "config": obj.ipam_config}

    @extend_schema_field(NetworkEndpointSerializer(many=True))
    def get_containers(self, obj) -> list:
        # As `docker network inspect`: only live endpoints (a stopped container keeps its
        # configured networks, shown on the container, but holds no endpoint).
        return [
            {"id": e.container.engine_id, "name": e.container.name, "ipv4_address": e.ipv4_address,
             "ipv6_address": e.ipv6_address, "mac_address": e.mac_address, "aliases": e.aliases}
            for e in _related(obj, "live_endpoints", "endpoints") if e.endpoint_id
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

    @extend_schema_field(serializers.DictField(child=ContainerEndpointSerializer()))
    def get_networks(self, obj) -> dict:
        return {
            e.network_name: {"ipv4_address": e.ipv4_address, "ipv6_address": e.ipv6_address,
                             "mac_address": e.mac_address, "aliases": e.aliases, "gateway": e.gateway,
                             "network_id": e.network_engine_id, "network_missing": e.network_missing}
            for e in _related(obj, "endpoint_list", "endpoints")
        }

    @extend_schema_field(PortBindingSerializer(many=True))
    def get_ports(self, obj) -> list:
        return [{"container_port": p.container_port, "protocol": p.protocol, "host_ip": p.host_ip,
                 "host_port": p.host_port} for p in _related(obj, "port_list", "ports")]

    @extend_schema_field(MountSerializer(many=True))
    def get_mounts(self, obj) -> list:
        return [{"type": m.type, "name": m.name, "source": m.source, "destination": m.destination,
                 "read_only": m.read_only} for m in _related(obj, "mount_list", "mounts")]


class VolumeSerializer(serializers.ModelSerializer):
    used_by = serializers.SerializerMethodField()

    class Meta:
        model = Volume
        fields = ["name", "driver", "mountpoint", "scope", "created", "labels", "options", "anonymous", "size", "used_by"]

    @extend_schema_field(VolumeUserSerializer(many=True))
    def get_used_by(self, obj) -> list:
        return [{"container": m.container.engine_id, "name": m.container.name, "destination": m.destination,
                 "read_only": m.read_only} for m in _related(obj, "mount_list", "mounts")]


# --- query parameters ---------------------------------------------------------------------------

class NetworkFilters(serializers.Serializer):
    driver = params.text("Exactly this driver.", max_length=64)
    name = params.text("Name contains this.")
    label = params.text("`key` or `key=value`.")


class ContainerFilters(serializers.Serializer):
    state = params.text("Exactly this state: created, running, paused, restarting, exited, dead.", max_length=32)
    name = params.text("Name contains this.")
    image = params.text("Image contains this.")
    network = params.text("Attached to the network of this name.")
    label = params.text("`key` or `key=value`.")
    internal = params.flag("Also dockerweb's own helper containers (labels `dockerweb.job`, `dockerweb.probe`).")


class VolumeFilters(serializers.Serializer):
    driver = params.text("Exactly this driver.", max_length=64)
    name = params.text("Name contains this.")
    label = params.text("`key` or `key=value`.")
    dangling = params.flag("Only volumes no container uses.")
    sizes = params.flag("Ask the engine for sizes (slow).")
    internal = params.flag("Also dockerweb's own staging volumes of restores (label `dockerweb.staging`).")
