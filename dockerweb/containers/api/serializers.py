"""The run request, for the API schema. Validation itself is `containers.spec.run_plan`, shared
with the form, so both refuse the same things with the same sentences."""
from rest_framework import serializers

from dockerweb.core.api import params


class MountInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["volume", "bind", "tmpfs"], default="volume")
    source = serializers.CharField(required=False, allow_blank=True, help_text="Volume name or absolute host path")
    target = serializers.CharField(help_text="Absolute path in the container")
    read_only = serializers.BooleanField(required=False, default=False)
    size = serializers.CharField(required=False, help_text="tmpfs size: bytes or 64m, 1g")
    volume_driver = serializers.CharField(required=False)
    volume_options = serializers.DictField(child=serializers.CharField(), required=False)


class ContainerRunInput(serializers.Serializer):
    refuses_unknown_fields = True  # as `spec.run_plan` does

    name = serializers.RegexField(r"^(/?[a-zA-Z0-9][a-zA-Z0-9_.-]*)?\Z", required=False, allow_blank=True,
                                  help_text="Empty: the engine picks one.")
    image = serializers.CharField(help_text="A local image of the host (dockerweb does not pull)")
    command = serializers.CharField(required=False, allow_blank=True, help_text="String (split like a shell) or list")
    network = serializers.CharField(required=False, default="bridge",
                                    help_text="bridge | host | none | container:<name> | a network name")
    ipv4_address = serializers.CharField(required=False, allow_blank=True)
    ipv6_address = serializers.CharField(required=False, allow_blank=True)
    aliases = serializers.ListField(child=serializers.CharField(), required=False)
    ports = serializers.ListField(child=serializers.CharField(), required=False,
                                  help_text='docker -p strings: "8000:80", "127.0.0.1:8000:80", "127.0.0.1::80", "80/udp"')
    publish_all = serializers.BooleanField(required=False, help_text="-P")
    expose = serializers.ListField(child=serializers.CharField(), required=False, help_text='--expose: "80", "53/udp"')
    volumes = serializers.ListField(child=serializers.CharField(), required=False,
                                    help_text='docker -v strings: "name:/path[:ro]", "/host:/path", "/anonymous"')
    mounts = MountInput(many=True, required=False)
    volumes_from = serializers.ListField(child=serializers.CharField(), required=False, help_text='"name[:ro|rw]"')
    links = serializers.ListField(child=serializers.CharField(), required=False, help_text='"name:alias"')
    environment = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    restart_policy = serializers.CharField(required=False, help_text="no | always | unless-stopped | on-failure[:N]")
    auto_remove = serializers.BooleanField(required=False, help_text="--rm")
    tty = serializers.BooleanField(required=False, help_text="-it")
    privileged = serializers.BooleanField(required=False, help_text="admin only")
    pid_mode = serializers.CharField(required=False, help_text="host | container:<name> (admin only)")
    ipc_mode = serializers.CharField(required=False, help_text="private | shareable | none; host or container:<name> admin only")
    cap_add = serializers.ListField(child=serializers.CharField(), required=False, help_text="admin only")
    devices = serializers.ListField(child=serializers.CharField(), required=False, help_text="admin only")


class ActionInput(serializers.Serializer):
    timeout = serializers.IntegerField(required=False, default=10, min_value=0, max_value=600,
                                       help_text="Seconds to wait for a clean stop before killing (stop and restart; "
                                                 "start takes no options)")


class ContainerRemoveParams(serializers.Serializer):
    force = params.flag("Remove it even if it runs (docker rm -f).")
    volumes = params.flag("Remove its anonymous volumes too (docker rm -v).")


class ImageSerializer(serializers.Serializer):
    id = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    size = serializers.IntegerField()
    created = serializers.IntegerField(help_text="Unix time")
