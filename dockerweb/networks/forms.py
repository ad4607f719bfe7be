"""Forms of the networks pages. They only shape input; the services check it against the engine
and their errors come back onto these fields (`field_for_error`)."""
from __future__ import annotations

from django import forms

from .choices import BRIDGE_OPTIONS, DRIVER_HELP, OPTION_FOR_FIELD

TRI = [("", "default"), ("true", "true"), ("false", "false")]
KV_HELP = "One <code>key=value</code> per line."


def parse_kv(text: str, *, field: str) -> dict:
    """'a=b\\nc=d' → {'a': 'b', 'c': 'd'}; a line without '=' is a key with an empty value."""
    out = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        key, _, value = line.partition("=")
        if not key.strip():
            raise forms.ValidationError(f"{line!r} has no key; write key=value.")
        out[key.strip()] = value.strip()
    return out


def parse_extra_ipam(text: str) -> list[dict]:
    """Lines like `subnet=10.50.1.0/24 gateway=10.50.1.1 ip-range=10.50.1.128/25 aux=router=10.50.1.2`."""
    out = []
    for n, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        c = {"subnet": "", "gateway": "", "ip_range": "", "aux_addresses": {}}
        for word in line.split():
            key, _, value = word.partition("=")
            key = key.lstrip("-").replace("-", "_")
            if key in ("subnet", "gateway", "ip_range"):
                c[key] = value
            elif key in ("aux", "aux_address"):
                name, _, ip = value.partition("=")
                if not ip:
                    raise forms.ValidationError(f"Line {n}: write aux=name=address, not {word!r}.")
                c["aux_addresses"][name] = ip
            else:
                raise forms.ValidationError(f"Line {n}: unknown word {word!r} (use subnet=, gateway=, ip-range=, aux=).")
        out.append(c)
    return out


class NetworkCreateForm(forms.Form):
    """`docker network create` with every option the walkthrough names."""

    name = forms.CharField(max_length=255, help_text="Any name the engine takes: letters of any script, digits, spaces, "
                                                      "punctuation. Containers on a user-defined network resolve each "
                                                      "other by name.")
    driver = forms.ChoiceField(help_text="<code>--driver</code>. " + " ".join(f"<b>{k}</b>: {v}" for k, v in DRIVER_HELP.items()))
    parent = forms.CharField(required=False, label="Parent interface (macvlan)",
                             help_text="<code>-o parent=eth0</code>: the host interface macvlan containers appear on "
                                       "(a VLAN sub-interface like eth0.10 is created if missing). Admins only.")
    subnet = forms.CharField(required=False, label="Subnet (IPv4)",
                             help_text="<code>--subnet</code>, CIDR like 10.40.0.0/24; empty lets the engine pick one. "
                                       "Fixed container addresses need a subnet given here.")
    gateway = forms.CharField(required=False, label="Gateway",
                              help_text="<code>--gateway</code>: the bridge's own address inside the subnet.")
    ip_range = forms.CharField(required=False, label="IP range",
                               help_text="<code>--ip-range</code>: containers get addresses from this part of the subnet.")
    aux_addresses = forms.CharField(required=False, label="Auxiliary addresses", widget=forms.Textarea(attrs={"rows": 2}),
                                    help_text="<code>--aux-address name=ip</code>: addresses the engine must not hand out. "
                                              + KV_HELP)
    enable_ipv6 = forms.BooleanField(required=False, label="Enable IPv6",
                                     help_text="<code>--ipv6</code>: give containers IPv6 addresses too (needs an IPv6 subnet).")
    subnet6 = forms.CharField(required=False, label="Subnet (IPv6)", help_text="<code>--subnet</code>, like fd00:40::/64.")
    gateway6 = forms.CharField(required=False, label="IPv6 gateway")
    ip_range6 = forms.CharField(required=False, label="IPv6 range")
    extra_ipam = forms.CharField(required=False, label="More IPAM configs", widget=forms.Textarea(attrs={"rows": 2}),
                                 help_text="Overlay networks take several subnets. One per line: "
                                           "<code>subnet=10.50.1.0/24 gateway=10.50.1.1 ip-range=10.50.1.128/25 aux=router=10.50.1.2</code>")
    internal = forms.BooleanField(required=False, help_text="<code>--internal</code>: no route out of the network "
                                                            "(containers reach only each other).")
    attachable = forms.BooleanField(required=False, help_text="<code>--attachable</code>: standalone containers may "
                                                              "join this overlay network, not only swarm services.")
    bridge_name = forms.CharField(required=False)
    enable_ip_masquerade = forms.ChoiceField(choices=TRI, required=False)
    enable_icc = forms.ChoiceField(choices=TRI, required=False)
    host_binding_ipv4 = forms.CharField(required=False)
    mtu = forms.CharField(required=False)
    container_interface_prefix = forms.CharField(required=False)
    ipam_driver = forms.CharField(required=False, label="IPAM driver",
                                  help_text="<code>--ipam-driver</code>: who hands out addresses; empty for the "
                                            "engine's own (default), or an IPAM plugin installed on the engine.")
    ipam_options = forms.CharField(required=False, label="IPAM options", widget=forms.Textarea(attrs={"rows": 2}),
                                   help_text="<code>--ipam-opt key=value</code>, passed to the IPAM driver. " + KV_HELP)
    options = forms.CharField(required=False, label="Other driver options", widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="<code>-o key=value</code>, any option of the driver. " + KV_HELP)
    labels = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="<code>--label key=value</code>: metadata to find networks by. " + KV_HELP)

    IPV4_FIELDS = ("subnet", "gateway", "ip_range", "aux_addresses")
    IPV6_FIELDS = ("subnet6", "gateway6", "ip_range6", None)
    BRIDGE_FIELDS = tuple(v[0] for v in BRIDGE_OPTIONS.values())

    def __init__(self, *args, drivers: list[str] | None = None, swarm_manager: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        drivers = [d for d in (drivers or ["bridge"]) if d not in ("host", "null")]
        if not swarm_manager:
            drivers = [d for d in drivers if d != "overlay"]
        drivers = sorted(drivers, key=lambda d: (d != "bridge", d))
        self.fields["driver"].choices = [(d, d) for d in drivers]
        self.fields["driver"].initial = "bridge"
        for key, (fname, label, flag, help_) in BRIDGE_OPTIONS.items():
            f = self.fields[fname]
            f.label = label
            f.help_text = f"<code>-o {key}</code>{f' (dockerd {flag})' if flag else ''}: {help_}"
            f.widget.attrs["data-option"] = key
        self._ipam_map: list[tuple] = []

    def clean_aux_addresses(self):
        return parse_kv(self.cleaned_data.get("aux_addresses", ""), field="aux_addresses")

    def clean_options(self):
        return parse_kv(self.cleaned_data.get("options", ""), field="options")

    def clean_labels(self):
        return parse_kv(self.cleaned_data.get("labels", ""), field="labels")

    def clean_ipam_options(self):
        return parse_kv(self.cleaned_data.get("ipam_options", ""), field="ipam_options")

    def clean_extra_ipam(self):
        return parse_extra_ipam(self.cleaned_data.get("extra_ipam", ""))

    def spec(self) -> dict:
        """The service's keyword arguments (after is_valid())."""
        d = self.cleaned_data
        options = {k: v for k, v in d["options"].items() if v != ""}
        if d.get("parent") and d["driver"] in ("macvlan", "ipvlan"):
            options["parent"] = d["parent"].strip()
        if d["driver"] == "bridge":
            for fname, key in OPTION_FOR_FIELD.items():
                if d.get(fname):
                    options[key] = d[fname].strip()
        ipam, self._ipam_map = [], []
        if any(d.get(f) for f in self.IPV4_FIELDS):
            ipam.append({"subnet": d["subnet"], "gateway": d["gateway"], "ip_range": d["ip_range"],
                         "aux_addresses": d["aux_addresses"]})
            self._ipam_map.append(self.IPV4_FIELDS)
        if any(d.get(f) for f in self.IPV6_FIELDS if f):
            ipam.append({"subnet": d["subnet6"], "gateway": d["gateway6"], "ip_range": d["ip_range6"],
                         "aux_addresses": {}})
            self._ipam_map.append(self.IPV6_FIELDS)
        for c in d["extra_ipam"]:
            ipam.append(c)
            self._ipam_map.append(("extra_ipam",) * 4)
        return {"name": d["name"], "driver": d["driver"], "options": options, "ipam_config": ipam,
                "internal": d["internal"], "attachable": d["attachable"], "enable_ipv6": d["enable_ipv6"],
                "labels": d["labels"], "ipam_driver": (d.get("ipam_driver") or "").strip() or "default",
                "ipam_options": d["ipam_options"]}

    def field_for_error(self, field: str | None) -> str | None:
        """The form field a service error belongs to (`ipam.config.1.gateway` → gateway6, …)."""
        if not field:
            return None
        if field in self.fields:
            return field
        if field == "options.parent":
            return "parent"
        if field in ("ipam.driver", "ipam.options"):
            return field.replace(".", "_")
        if field.startswith("options."):
            key = field[len("options."):]
            if key in BRIDGE_OPTIONS:
                return BRIDGE_OPTIONS[key][0]
            return "options"
        if field.startswith("ipam.config."):
            _, _, idx, part = field.split(".", 3)
            names = self._ipam_map[int(idx)] if int(idx) < len(self._ipam_map) else ("extra_ipam",) * 4
            pos = ("subnet", "gateway", "ip_range", "aux_addresses").index(part)
            return names[pos] or "extra_ipam"
        return None


class NetworkConnectForm(forms.Form):
    """`docker network connect` (the network is the page's, or chosen on the container page)."""

    network = forms.CharField(required=False, widget=forms.HiddenInput)
    container = forms.CharField(widget=forms.Select, help_text="The container to attach.")
    ipv4_address = forms.CharField(required=False, label="Fixed IPv4 address",
                                   help_text="<code>--ip</code>: only on networks created with a subnet.")
    ipv6_address = forms.CharField(required=False, label="Fixed IPv6 address", help_text="<code>--ip6</code>")
    aliases = forms.CharField(required=False, help_text="<code>--alias</code>: more names others resolve it by; "
                                                        "separate with spaces or commas.")
    links = forms.CharField(required=False, help_text="<code>--link container:alias</code>; separate with spaces.")

    def spec(self) -> dict:
        d = self.cleaned_data
        split = lambda s: [x for x in (s or "").replace(",", " ").split() if x]  # noqa: E731
        return {"container": d["container"], "ipv4_address": d["ipv4_address"], "ipv6_address": d["ipv6_address"],
                "aliases": split(d["aliases"]), "links": split(d["links"])}
