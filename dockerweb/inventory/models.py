"""The mirror: each host's networks, containers, endpoints, volumes, mounts and port bindings,
as the engine reports them. The engine is the source of truth; only the inventory services
(reconcile and the event watcher) write these rows, always from the engine's own answer."""
from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

name_validator = RegexValidator(r"^[a-z0-9][a-z0-9_.-]{0,62}$", "Use lower-case letters, digits, '.', '_' or '-' (up to 63).")


class Host(models.Model):
    """A Docker engine dockerweb manages, addressed by name (the first one is `local`)."""

    class Status(models.TextChoices):
        UNKNOWN = "unknown", "unknown"
        OK = "ok", "ok"
        UNREACHABLE = "unreachable", "unreachable"

    name = models.CharField(max_length=63, unique=True, validators=[name_validator])
    url = models.CharField(max_length=255, help_text="unix:///path/docker.sock or tcp://host:port")
    tls_ca = models.TextField(blank=True, help_text="PEM of the CA that signed the engine's certificate.")
    tls_cert = models.TextField(blank=True, help_text="PEM client certificate.")
    tls_key = models.TextField(blank=True, help_text="PEM client key.")
    tls_verify = models.BooleanField(default=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UNKNOWN)
    last_seen = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    engine_version = models.CharField(max_length=64, blank=True)
    info = models.JSONField(default=dict, blank=True, help_text="Engine facts: swarm state, root dir, name.")
    watching_since = models.DateTimeField(
        null=True, blank=True,
        help_text="When the watcher last subscribed to the engine's events; empty while it is not following them.")
    watcher = models.CharField(max_length=128, blank=True,
                               help_text="The watch process that follows the host (machine:pid:tag), by its lease.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    @property
    def is_reachable(self) -> bool:
        return self.status == self.Status.OK

    @property
    def is_swarm_manager(self) -> bool:
        return bool((self.info or {}).get("swarm_manager"))

    @property
    def is_live(self) -> bool:
        """Reachable and followed by the watcher: the mirror is fresh within a fraction of a second."""
        return self.is_reachable and self.watching_since is not None


class Network(models.Model):
    """A network of a host, as `docker network inspect` shows it."""

    PREDEFINED = ("bridge", "host", "none")

    host = models.ForeignKey(to=Host, on_delete=models.CASCADE, related_name="networks")
    engine_id = models.CharField(max_length=64, help_text="The engine's full network id.")
    name = models.CharField(max_length=255, db_index=True)
    driver = models.CharField(max_length=64, db_index=True)
    scope = models.CharField(max_length=16, blank=True)
    internal = models.BooleanField(default=False)
    attachable = models.BooleanField(default=False)
    ingress = models.BooleanField(default=False)
    enable_ipv6 = models.BooleanField(default=False)
    created = models.DateTimeField(null=True, blank=True)
    options = models.JSONField(default=dict, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    ipam_driver = models.CharField(max_length=64, blank=True, default="default")
    ipam_options = models.JSONField(default=dict, blank=True)
    ipam_config = models.JSONField(
        default=list, blank=True, help_text="[{subnet, gateway, ip_range, aux_addresses}] in snake_case."
    )
    raw = models.JSONField(default=dict, blank=True, help_text="The engine's inspect output.")
    fingerprint = models.CharField(max_length=40, blank=True, help_text="Digest of `raw`: unchanged means nothing to write.")
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("host__name", "name")
        constraints = [models.UniqueConstraint(fields=("host", "engine_id"), name="network_unique_per_host")]

    def __str__(self) -> str:
        return f"{self.host.name}/{self.name}"

    @property
    def is_predefined(self) -> bool:
        return self.name in self.PREDEFINED

    @property
    def short_id(self) -> str:
        return self.engine_id[:12]

    def subnets(self) -> list[str]:
        return [c["subnet"] for c in self.ipam_config if c.get("subnet")]

    def inspect(self) -> dict:
        """`docker network inspect` output: the engine's attributes with `Containers` rebuilt from
        the mirrored endpoints (`raw` keeps no `Containers`: the engine's list call, which the
        reconcile uses, leaves it empty, and the endpoints are the one place attachments live)."""
        containers = {}
        for e in self.endpoints.exclude(endpoint_id="").select_related("container").order_by("container__name"):
            containers[e.container.engine_id] = {
                "Name": e.container.name,
                "EndpointID": e.endpoint_id,
                "MacAddress": e.mac_address,
                "IPv4Address": f"{e.ipv4_address}/{e.prefix_len}" if e.ipv4_address and e.prefix_len else e.ipv4_address,
                "IPv6Address": e.ipv6_address,
            }
        return {**self.raw, "Containers": containers}

    @property
    def icc_enabled(self) -> bool:
        return self.options.get("com.docker.network.bridge.enable_icc", "true").lower() != "false"


class Container(models.Model):
    """A container of a host, with the facts the pages, the graph and the audit need."""

    host = models.ForeignKey(to=Host, on_delete=models.CASCADE, related_name="containers")
    engine_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255, db_index=True)
    image = models.CharField(max_length=255, blank=True)
    image_id = models.CharField(max_length=80, blank=True)
    command = models.TextField(blank=True)
    state = models.CharField(max_length=16, db_index=True, help_text="created, running, paused, restarting, exited, dead")
    status = models.CharField(max_length=128, blank=True, help_text="The engine's human status, e.g. 'Up 5 minutes'.")
    created = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    network_mode = models.CharField(max_length=255, blank=True, help_text="bridge, host, none, container:<id>, or a network name")
    labels = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True, help_text="['target:alias'] as the engine reports HostConfig.Links")
    restart_policy = models.JSONField(default=dict, blank=True)
    privileged = models.BooleanField(default=False)
    pid_mode = models.CharField(max_length=255, blank=True)
    ipc_mode = models.CharField(max_length=255, blank=True)
    uts_mode = models.CharField(max_length=255, blank=True)
    userns_mode = models.CharField(max_length=255, blank=True)
    cap_add = models.JSONField(default=list, blank=True)
    devices = models.JSONField(default=list, blank=True)
    auto_remove = models.BooleanField(default=False)
    publish_all = models.BooleanField(default=False)
    raw = models.JSONField(default=dict, blank=True, help_text="The engine's inspect output.")
    fingerprint = models.CharField(max_length=40, blank=True, help_text="Digest of `raw`: unchanged means nothing to write.")
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("host__name", "name")
        constraints = [models.UniqueConstraint(fields=("host", "engine_id"), name="container_unique_per_host")]

    def __str__(self) -> str:
        return f"{self.host.name}/{self.name}"

    @property
    def short_id(self) -> str:
        return self.engine_id[:12]

    @property
    def netns_source_id(self) -> str | None:
        """The id of the container whose network namespace this one shares (`container:<id>` mode)."""
        if self.network_mode.startswith("container:"):
            return self.network_mode.split(":", 1)[1]
        return None

    @property
    def network_fixed(self) -> bool:
        """Host, none and container: modes: the engine refuses to connect or disconnect such a container."""
        return self.network_mode in ("host", "none") or self.network_mode.startswith("container:")


class Endpoint(models.Model):
    """A container's attachment to a network (one entry of NetworkSettings.Networks)."""

    container = models.ForeignKey(to=Container, on_delete=models.CASCADE, related_name="endpoints")
    network = models.ForeignKey(to=Network, on_delete=models.SET_NULL, null=True, blank=True, related_name="endpoints",
                                help_text="Null when the network is gone (the engine lets a stopped container keep "
                                          "an entry for a removed network), or for a moment before it is mirrored.")
    network_name = models.CharField(max_length=255)
    network_engine_id = models.CharField(max_length=64, blank=True)
    endpoint_id = models.CharField(max_length=64, blank=True)
    ipv4_address = models.CharField(max_length=64, blank=True)
    ipv6_address = models.CharField(max_length=64, blank=True)
    prefix_len = models.IntegerField(null=True, blank=True)
    mac_address = models.CharField(max_length=32, blank=True)
    gateway = models.CharField(max_length=64, blank=True)
    ipv6_gateway = models.CharField(max_length=64, blank=True)
    aliases = models.JSONField(default=list, blank=True)
    links = models.JSONField(default=list, blank=True)
    ipam_config = models.JSONField(default=dict, blank=True, help_text="Fixed addresses asked for: {ipv4_address, ipv6_address}")

    class Meta:
        ordering = ("network_name",)
        constraints = [models.UniqueConstraint(fields=("container", "network_name"), name="endpoint_unique")]

    def __str__(self) -> str:
        return f"{self.container.name}@{self.network_name}"

    @property
    def network_missing(self) -> bool:
        """The container keeps an entry for a network the host no longer has (it cannot start
        until that entry is disconnected)."""
        return self.network_id is None


class Volume(models.Model):
    """A volume of a host, as `docker volume inspect` shows it."""

    host = models.ForeignKey(to=Host, on_delete=models.CASCADE, related_name="volumes")
    name = models.CharField(max_length=255, db_index=True)
    driver = models.CharField(max_length=64, default="local")
    mountpoint = models.CharField(max_length=1024, blank=True)
    scope = models.CharField(max_length=16, blank=True)
    created = models.DateTimeField(null=True, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    anonymous = models.BooleanField(default=False, help_text="Created for a container without a name.")
    size = models.BigIntegerField(null=True, blank=True, help_text="Bytes, when the engine reported it (docker system df).")
    raw = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=40, blank=True, help_text="Digest of `raw`: unchanged means nothing to write.")
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("host__name", "name")
        constraints = [models.UniqueConstraint(fields=("host", "name"), name="volume_unique_per_host")]

    def __str__(self) -> str:
        return f"{self.host.name}/{self.name}"


class Mount(models.Model):
    """A container's mount: a volume, a bind of a host path, or a tmpfs."""

    class Type(models.TextChoices):
        VOLUME = "volume"
        BIND = "bind"
        TMPFS = "tmpfs"
        NPIPE = "npipe"

    container = models.ForeignKey(to=Container, on_delete=models.CASCADE, related_name="mounts")
    type = models.CharField(max_length=10, choices=Type.choices)
    volume = models.ForeignKey(to=Volume, on_delete=models.SET_NULL, null=True, blank=True, related_name="mounts")
    name = models.CharField(max_length=255, blank=True, help_text="The volume's name (type volume).")
    source = models.CharField(max_length=1024, blank=True, help_text="Host path (bind) or the volume's mountpoint.")
    destination = models.CharField(max_length=1024)
    driver = models.CharField(max_length=64, blank=True)
    mode = models.CharField(max_length=64, blank=True)
    read_only = models.BooleanField(default=False)
    propagation = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ("destination",)

    def __str__(self) -> str:
        return f"{self.container.name}:{self.destination}"


class PortBinding(models.Model):
    """A container port and, if published, the host address it is bound to."""

    container = models.ForeignKey(to=Container, on_delete=models.CASCADE, related_name="ports")
    container_port = models.PositiveIntegerField()
    protocol = models.CharField(max_length=8, default="tcp")
    host_ip = models.CharField(max_length=64, blank=True)
    host_port = models.PositiveIntegerField(null=True, blank=True, help_text="Null when exposed but not published.")

    class Meta:
        ordering = ("container_port", "protocol", "host_ip")

    def __str__(self) -> str:
        if self.host_port is None:
            return f"{self.container_port}/{self.protocol}"
        return f"{self.host_ip or '0.0.0.0'}:{self.host_port}->{self.container_port}/{self.protocol}"

    @property
    def published(self) -> bool:
        return self.host_port is not None

    @property
    def all_interfaces(self) -> bool:
        return self.published and self.host_ip in ("", "0.0.0.0", "::")
