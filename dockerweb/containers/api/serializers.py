"""The run request, for the API schema. Validation itself is `containers.spec.run_plan`, shared
with the form, so both refuse the same things with the same sentences."""
import shlex

from drf_spectacular.utils import extend_schema_field
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


@extend_schema_field({"oneOf": [
    {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 256},
    {"type": "string", "minLength": 1, "maxLength": 65536},
], "description": 'The command: a list of words (["ip", "addr"]), or a string split like a shell would ("ip addr").'})
class CommandField(serializers.Field):
    """`cmd` of an exec: a list of words, or one string split with shell quoting rules."""

    default_error_messages = {
        "invalid": 'The command is a list of words (["ip", "addr"]) or a string ("ip addr").',
        "empty": "Name the command to run.",
        "split": "The command cannot be split into words: {why}.",
    }

    def to_internal_value(self, data):
        if isinstance(data, str):
            if "\x00" in data:
                self.fail("invalid")
            try:
                data = shlex.split(data)
            except ValueError as exc:
                self.fail("split", why=exc)
        if not isinstance(data, list) or len(data) > 256 or not all(
                isinstance(w, str) and w and "\x00" not in w and len(w) <= 65536 for w in data):
            self.fail("invalid")
        if not data:
            self.fail("empty")
        return data

    def to_representation(self, value):
        return value


def _env_check(env: dict) -> dict:
    for key, value in env.items():
        if not key or "=" in key or "\x00" in key or "\x00" in value:
            raise serializers.ValidationError(f"{key!r}: a variable's name is not empty and has no '='; "
                                              "neither name nor value holds NUL.")
    return env


class ExecInput(serializers.Serializer):
    """`docker exec [-u user] [-w workdir] [-e K=V] <container> <cmd>`, without a TTY."""

    refuses_unknown_fields = True  # see `validate`; stated in the schema (core/api/schema.py)

    cmd = CommandField()
    user = serializers.CharField(required=False, allow_blank=True, default="", max_length=255,
                                 help_text="user, uid, user:group or uid:gid (default: the container's)")
    workdir = serializers.CharField(required=False, allow_blank=True, default="", max_length=4096,
                                    help_text="An absolute path in the container (default: the container's)")
    env = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=65536, trim_whitespace=False),
                                required=False,
                                default=dict, validators=[_env_check], help_text="Extra environment variables")
    timeout = serializers.IntegerField(required=False, default=30, min_value=1, max_value=300,
                                       help_text="Seconds before the command is killed (at most 300)")

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError({unknown[0]: [f"Unknown field; known: {', '.join(self.fields)}."]})
        return attrs


class ExecResultSerializer(serializers.Serializer):
    exit_code = serializers.IntegerField(allow_null=True, help_text="null when the command was killed at the "
                                                                    "time limit")
    output = serializers.CharField(allow_blank=True, help_text="stdout and stderr, in the order the engine sent "
                                                               "them (UTF-8; invalid bytes as U+FFFD)")
    truncated = serializers.BooleanField(help_text="The output went past the cap (1 MiB) and the rest was dropped")
    timed_out = serializers.BooleanField(help_text="The command ran out of time and was killed")


# --- logs and stats (reads) ---------------------------------------------------------------------

def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year, 0 included)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


# A time as unix seconds or as RFC 3339; the pattern admits only real dates (month lengths,
# leap years), so whatever it matches is a time. `$` as the schema's pattern has it (Python
# lets one final newline through; `unix_seconds` does too).
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
_DATE = (r"(?:[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
         r"|02-(?:0[1-9]|1[0-9]|2[0-8]))|" + _LEAP_YEAR + r"-02-29)")
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?"
_ZONE = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
TIME_PATTERN = rf"^(?:[0-9]{{1,10}}(?:\.[0-9]{{1,9}})?|{_DATE}[Tt]{_TIME}{_ZONE})$"


def unix_seconds(text: str) -> float:
    """Unix seconds of a value that matches TIME_PATTERN."""
    text = text.rstrip("\n")
    if "-" not in text[:5] and ":" not in text:
        return float(text)
    date, time = text[:10], text[11:]
    y, m, d = int(date[:4]), int(date[5:7]), int(date[8:10])
    zone_at = max(time.rfind("+"), time.rfind("-"))
    if time[-1:] in "Zz":
        clock, offset = time[:-1], 0
    else:
        clock, zone = time[:zone_at], time[zone_at:]
        offset = (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    hh, mm, ss = int(clock[:2]), int(clock[3:5]), float(clock[6:])
    return _days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss - offset


class TimeParam(serializers.RegexField):
    """A query parameter that is a time: unix seconds (`1733130000`, `1733130000.5`) or RFC 3339
    (`2026-12-02T09:00:00Z`, `2026-12-02T10:00:00.5+01:00`); validated to unix seconds."""

    def __init__(self, **kwargs):
        super().__init__(TIME_PATTERN, required=False, trim_whitespace=False, **kwargs)

    def run_validation(self, data=serializers.empty):
        # The pattern is checked by the field's validators, which run after to_internal_value.
        value = super().run_validation(data)
        return value if value is None else unix_seconds(value)


class LogsParams(serializers.Serializer):
    tail = serializers.IntegerField(required=False, default=1000, min_value=0, max_value=10000,
                                    help_text="The last N lines (of the chosen stream); at most 10000.")
    since = TimeParam(help_text="Only lines from this time on: unix seconds or RFC 3339.")
    until = TimeParam(help_text="Only lines before this time: unix seconds or RFC 3339.")
    timestamps = params.flag("Give each line its time (`ts`); without, `ts` is null.")
    stream = serializers.ChoiceField(choices=["both", "stdout", "stderr"], default="both", required=False,
                                     help_text="Which output: both, stdout or stderr (a TTY container has "
                                               "only stdout).")


class LogsDownloadParams(LogsParams):
    tail = None  # a download is the whole log (within since/until)


class LogLineSerializer(serializers.Serializer):
    ts = serializers.CharField(allow_null=True, help_text="The engine's RFC 3339 time of the line (with "
                                                          "`timestamps`), else null.")
    stream = serializers.ChoiceField(choices=["stdout", "stderr"])
    text = serializers.CharField(allow_blank=True, help_text="The line without its line end (UTF-8; bytes that "
                                                             "are not are replaced).")


class LogsSerializer(serializers.Serializer):
    container = serializers.CharField(help_text="The container's name.")
    tty = serializers.BooleanField(help_text="The container has a TTY: everything it prints is stdout.")
    lines = LogLineSerializer(many=True, help_text="Oldest first.")
    truncated = serializers.BooleanField(help_text="Older lines were left out to keep the answer within 8 MiB "
                                                   "of text.")


class StatsSerializer(serializers.Serializer):
    cpu_percent = serializers.FloatField(help_text="CPU used since the previous reading, in percent of one "
                                                   "CPU (as docker stats: 200 = two whole CPUs).")
    memory_usage = serializers.IntegerField(help_text="Bytes in use, without the cache the kernel can drop "
                                                      "(as docker stats).")
    memory_limit = serializers.IntegerField(help_text="The container's memory limit in bytes (the machine's "
                                                      "memory when it has none).")
    net_rx = serializers.IntegerField(help_text="Bytes received, summed over its interfaces.")
    net_tx = serializers.IntegerField(help_text="Bytes sent, summed over its interfaces.")
    block_read = serializers.IntegerField(help_text="Bytes read from block devices.")
    block_write = serializers.IntegerField(help_text="Bytes written to block devices.")
    pids = serializers.IntegerField(help_text="Processes and threads.")
    read = serializers.CharField(help_text="The engine's RFC 3339 time of the reading.")


class ContainerRemoveManyInput(serializers.Serializer):
    # Each ident as given, even blank: each one gets its own answer in `errors`.
    containers = serializers.ListField(child=serializers.CharField(allow_blank=True, trim_whitespace=False),
                                       allow_empty=False, min_length=1)
    force = serializers.BooleanField(default=False, help_text="docker rm -f: running ones are stopped first.")
    volumes = serializers.BooleanField(default=False, help_text="docker rm -v: their anonymous volumes too.")


class RemoveManyOutput(serializers.Serializer):
    removed = serializers.ListField(child=serializers.CharField())
    errors = serializers.DictField(child=serializers.CharField())
