"""Input shapes of the networks API (field names as in DESIGN.md's contract)."""
from rest_framework import serializers


class IpamConfigInput(serializers.Serializer):
    subnet = serializers.CharField(required=False, allow_blank=True, default="")
    gateway = serializers.CharField(required=False, allow_blank=True, default="")
    ip_range = serializers.CharField(required=False, allow_blank=True, default="")
    aux_addresses = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)


class IpamInput(serializers.Serializer):
    driver = serializers.CharField(required=False, default="default", allow_blank=True,
                                   help_text="--ipam-driver: default, null, or an IPAM plugin installed on the engine.")
    options = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict,
                                    help_text="--ipam-opt key=value, passed to the IPAM driver.")
    config = IpamConfigInput(many=True, required=False, default=list)


class NetworkCreateInput(serializers.Serializer):
    # Not trimmed: the name is the engine's as given (see networks.validation.name_problem).
    name = serializers.CharField(
        max_length=255, trim_whitespace=False,
        help_text="Any name the engine takes (letters of any script, spaces, '@#$%', '/'), at most 255 characters; "
                  "not '.' or '..', no control characters, no spaces at either end.",
        error_messages={"blank": "A network needs a name.", "required": "A network needs a name.",
                        "max_length": "A network name takes at most {max_length} characters here."})
    driver = serializers.CharField(required=False, default="bridge")
    internal = serializers.BooleanField(required=False, default=False)
    attachable = serializers.BooleanField(required=False, default=False)
    enable_ipv6 = serializers.BooleanField(required=False, default=False)
    options = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    ipam = IpamInput(required=False)


class NetworkConnectInput(serializers.Serializer):
    container = serializers.CharField(help_text="Container name or id.")
    ipv4_address = serializers.CharField(required=False, allow_blank=True, default="")
    ipv6_address = serializers.CharField(required=False, allow_blank=True, default="")
    aliases = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    links = serializers.ListField(child=serializers.CharField(), required=False, default=list,
                                  help_text='"container" or "container:alias", as --link.')


class NetworkDisconnectInput(serializers.Serializer):
    container = serializers.CharField(help_text="Container name or id.")
    force = serializers.BooleanField(required=False, default=False)


class NetworkPruneInput(serializers.Serializer):
    dry_run = serializers.BooleanField(required=False, default=False)
    only = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True, default=None,
                                 help_text="Remove only these (ids or names), e.g. what a dry run listed.")


class NetworkPruneOutput(serializers.Serializer):
    removed = serializers.ListField(child=serializers.CharField())


class NetworkRemoveManyInput(serializers.Serializer):
    # Each ident as given, even blank: each one gets its own answer in `errors`.
    networks = serializers.ListField(child=serializers.CharField(allow_blank=True, trim_whitespace=False), allow_empty=False,
                                     min_length=1)


class NetworkRemoveManyOutput(serializers.Serializer):
    removed = serializers.ListField(child=serializers.CharField())
    errors = serializers.DictField(child=serializers.CharField())
