"""The run form: the fields of `docker run` a person fills in, turned into the same request the
API takes (`ContainerRunForm.run_data`), so that one parser and one safety gate judge both."""
from __future__ import annotations

import re

from django import forms

from . import selectors

RESTART_CHOICES = [("no", "no"), ("always", "always"), ("unless-stopped", "unless-stopped"), ("on-failure", "on-failure")]
PID_CHOICES = [("", "private (default)"), ("host", "host")]
IPC_CHOICES = [("", "engine default"), ("private", "private"), ("shareable", "shareable"), ("none", "none"),
               ("host", "host")]


def _lines(text: str, *, commas: bool = False) -> list[str]:
    parts = re.split(r"[\n,]" if commas else r"\n", text or "")
    return [p.strip() for p in parts if p.strip()]


def _area(placeholder: str, rows: int = 2) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "placeholder": placeholder, "spellcheck": "false"})


class ContainerRunForm(forms.Form):
    image = forms.CharField(help_text="One of this host's local images (dockerweb does not pull).",
                            widget=forms.TextInput(attrs={"list": "image-choices", "autocomplete": "off"}))
    name = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "web01"}))
    command = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "image default"}))
    network = forms.ChoiceField(help_text="--network: a mode, another container's namespace, or a network.")
    ipv4_address = forms.CharField(required=False, label="IPv4 address (--ip)")
    ipv6_address = forms.CharField(required=False, label="IPv6 address (--ip6)")
    aliases = forms.CharField(required=False, label="Network aliases", help_text="Comma-separated.")
    ports = forms.CharField(required=False, label="Published ports (-p)", widget=_area("127.0.0.1:8080:80\n127.0.0.1::443"),
                            help_text="One per line: 8000:80, 127.0.0.1:8000:80, 127.0.0.1::80, 80/udp.")
    publish_all = forms.BooleanField(required=False, label="Publish all exposed ports (-P)")
    expose = forms.CharField(required=False, label="Expose (--expose)", help_text="Comma-separated: 80, 53/udp.")
    volumes = forms.CharField(required=False, label="Volumes (-v)", widget=_area("data:/var/lib/data\n/anonymous"),
                              help_text="One per line: name:/path[:ro], /path for an anonymous volume.")
    mounts = forms.CharField(required=False, label="Mounts (--mount)",
                             widget=_area("type=tmpfs,target=/cache,tmpfs-size=64m"),
                             help_text="One per line: type=volume|bind|tmpfs,source=…,target=…[,readonly].")
    volumes_from = forms.CharField(required=False, label="Volumes from (--volumes-from)",
                                   help_text="Comma-separated container names, each name[:ro].")
    links = forms.CharField(required=False, label="Links (--link)", help_text="Comma-separated name:alias.")
    environment = forms.CharField(required=False, label="Environment (-e)", widget=_area("KEY=value"))
    labels = forms.CharField(required=False, label="Labels (--label)", widget=_area("key=value"))
    restart_policy = forms.ChoiceField(choices=RESTART_CHOICES, required=False, label="Restart policy")
    max_retries = forms.IntegerField(required=False, min_value=0, label="Retries (on-failure)")
    auto_remove = forms.BooleanField(required=False, label="Remove when it stops (--rm)")
    tty = forms.BooleanField(required=False, label="Interactive terminal (-it)")
    # Admin-only; the fields are shown to admins, and judged by the safety gate for everyone.
    privileged = forms.BooleanField(required=False, label="Privileged (--privileged)")
    pid_mode = forms.ChoiceField(choices=PID_CHOICES, required=False, label="PID namespace (--pid)")
    ipc_mode = forms.ChoiceField(choices=IPC_CHOICES, required=False, label="IPC namespace (--ipc)")
    cap_add = forms.CharField(required=False, label="Add capabilities (--cap-add)", help_text="Comma-separated.")
    devices = forms.CharField(required=False, label="Devices (--device)", help_text="Comma-separated /dev/x[:/dev/y].")

    ADMIN_FIELDS = ("privileged", "pid_mode", "ipc_mode", "cap_add", "devices")

    def __init__(self, *args, host, show_admin: bool, **kwargs):
        super().__init__(*args, **kwargs)
        nets = selectors.network_choices(host)
        peers = selectors.container_names(host, running=True)
        self.fields["network"].choices = (
            [("bridge", "bridge (default)"), ("host", "host"), ("none", "none")]
            + ([("Networks", [(n, n) for n in nets])] if nets else [])
            + ([("Share a container's network", [(f"container:{p}", f"container:{p}") for p in peers])] if peers else [])
        )
        self.fields["network"].initial = "bridge"
        self.image_choices = selectors.image_choices(host)
        self.show_admin = show_admin
        if not show_admin:
            for name in self.ADMIN_FIELDS:
                del self.fields[name]

    SECTIONS = (
        ("Image and command", ("image", "name", "command"), ""),
        ("Network", ("network", "ipv4_address", "ipv6_address", "aliases", "links"), ""),
        ("Ports", ("ports", "expose", "publish_all"), ""),
        ("Volumes and mounts", ("volumes", "mounts", "volumes_from"),
         "Binds of host paths (-v /path:…, type=bind) are for admins, and only under the bind allow-list "
         "(admins see and edit it on the Settings page)."),
        ("Environment, labels, lifecycle", ("environment", "labels", "restart_policy", "max_retries", "auto_remove",
                                            "tty"), ""),
        ("Host access (admin)", ADMIN_FIELDS, "Each of these gives the container power over the host."),
    )

    def sections(self) -> list[dict]:
        out = []
        for title, names, note in self.SECTIONS:
            fields = [self[n] for n in names if n in self.fields]
            if fields:
                out.append({"title": title, "fields": fields, "note": note, "first": not out})
        return out

    def run_data(self) -> dict:
        """The API's run request from the cleaned form."""
        d = self.cleaned_data
        policy = d.get("restart_policy") or "no"
        if policy == "on-failure" and d.get("max_retries"):
            policy = f"on-failure:{d['max_retries']}"
        data = {
            "image": d["image"], "name": d["name"], "command": d["command"], "network": d["network"],
            "ipv4_address": d["ipv4_address"], "ipv6_address": d["ipv6_address"],
            "aliases": _lines(d["aliases"], commas=True), "ports": _lines(d["ports"]),
            "publish_all": d["publish_all"], "expose": _lines(d["expose"], commas=True),
            "volumes": _lines(d["volumes"]), "mounts": _lines(d["mounts"]),
            "volumes_from": _lines(d["volumes_from"], commas=True), "links": _lines(d["links"], commas=True),
            "environment": _lines(d["environment"]), "labels": _lines(d["labels"]),
            "restart_policy": policy, "auto_remove": d["auto_remove"], "tty": d["tty"],
        }
        if self.show_admin:
            data.update({"privileged": d["privileged"], "pid_mode": d["pid_mode"], "ipc_mode": d["ipc_mode"],
                         "cap_add": _lines(d["cap_add"], commas=True), "devices": _lines(d["devices"], commas=True)})
        return data
