"""Findings: each rule looks at the snapshot (and the model) and says what is risky, with the
evidence it saw and a fix in the user's own terms. Pure functions, like `model`.

A finding: `{rule, severity, subject, message, evidence, fix, cis}`; `subject` is
`container/<name>` or `network/<name>` (or several joined by ", ")."""
from __future__ import annotations

import ipaddress

from .model import Snapshot, display_mode

SEVERITIES = ("critical", "high", "medium", "low", "info")
SENSITIVE_DIRS = ("/", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/sys", "/usr", "/bin", "/sbin",
                  "/root", "/var/lib/docker", "/run", "/var/run")
DOCKER_SOCKETS = ("docker.sock", "containerd.sock")

RULES = {
    "default_bridge": "Container on the default bridge",
    "default_bridge_icc": "Inter-container traffic on for the default bridge",
    "port_all_interfaces": "Port published on all interfaces",
    "privileged_port": "Privileged port mapped",
    "host_network": "Host network mode",
    "shared_pid": "Shared PID namespace",
    "shared_ipc": "Shared IPC namespace",
    "privileged": "Privileged container",
    "docker_socket": "Docker socket mounted",
    "sensitive_mount": "Sensitive host directory mounted",
    "legacy_link": "Legacy link",
    "subnet_overlap": "Networks with overlapping subnets",
    "bridging_container": "Container bridging isolated networks",
    "internal_published": "Published ports on an internal network",
    "probe_mismatch": "Probe contradicts the model",
}


def finding(rule: str, severity: str, subject: str, message: str, evidence: dict, fix: str, cis: str = "") -> dict:
    return {"rule": rule, "title": RULES.get(rule, rule), "severity": severity, "subject": subject,
            "message": message, "evidence": evidence, "fix": fix, "cis": cis}


def _is_sensitive(source: str) -> bool:
    src = source.rstrip("/") or "/"
    for d in SENSITIVE_DIRS:
        if src == d or (d != "/" and src.startswith(d + "/") and d not in ("/run", "/var/run")):
            return True
    return False


def findings_of(snap: Snapshot, model: dict | None = None) -> list[dict]:
    out: list[dict] = []
    nets = snap.networks
    ctrs = sorted(snap.containers.values(), key=lambda c: c.name)
    default = next((n for n in nets.values() if n.is_default_bridge), None)

    if default is not None and default.icc:
        on_it = [c.name for c in ctrs if any(e["network"] == default.id for e in c.endpoints)]
        out.append(finding(
            "default_bridge_icc", "medium", f"network/{default.name}",
            "Every container on the default bridge can reach every other one: inter-container traffic is on.",
            {"option": "com.docker.network.bridge.enable_icc", "value": "true", "containers": on_it},
            "Start the daemon with --icc=false (\"icc\": false in daemon.json) and move containers to user-defined networks.",
            "CIS 2.1"))

    for c in ctrs:
        subj = f"container/{c.name}"
        on_default = [e for e in c.endpoints if default is not None and e["network"] == default.id]
        if on_default:
            out.append(finding(
                "default_bridge", "medium", subj,
                f"{c.name} is on the default bridge, shared with every container started without --network.",
                {"network": "bridge", "address": on_default[0].get("ip", "")},
                f"Create a network for the app (docker network create app) and run {c.name} with --network app; then disconnect it from bridge."))
        for p in c.ports:
            if p.get("host_port") is None:
                continue
            hip = p.get("host_ip") or "0.0.0.0"
            binding = f"{hip}:{p['host_port']}->{p['container_port']}/{p.get('protocol', 'tcp')}"
            if hip in ("0.0.0.0", "::", ""):
                out.append(finding(
                    "port_all_interfaces", "high", subj,
                    f"Port {p['container_port']}/{p.get('protocol', 'tcp')} of {c.name} is published on every interface of the host.",
                    {"binding": binding},
                    f"Publish on one address: -p 127.0.0.1:{p['host_port']}:{p['container_port']} (or the one interface that must serve it).",
                    "CIS 5.13"))
            if p["host_port"] < 1024:
                out.append(finding(
                    "privileged_port", "medium", subj,
                    f"{c.name} maps host port {p['host_port']}, a privileged port (below 1024).",
                    {"binding": binding},
                    f"Map a port of 1024 or above (-p {hip}:8{p['host_port']:03d}:{p['container_port']}) and put a proxy in front if the low port is needed.",
                    "CIS 5.8"))
        if c.network_mode == "host":
            out.append(finding(
                "host_network", "high", subj,
                f"{c.name} uses the host's network stack: no network isolation at all; it can reach every container and bind any host port.",
                {"network_mode": "host"},
                f"Run {c.name} on a user-defined network and publish only the ports it serves.", "CIS 5.9"))
        if c.pid_mode and c.pid_mode not in ("private",):
            pid = display_mode(c.pid_mode, snap.containers)
            out.append(finding(
                "shared_pid", "high", subj,
                f"{c.name} shares the PID namespace of {pid}: it sees and can signal those processes.",
                {"pid_mode": pid},
                f"Remove --pid={pid} from {c.name}.", "CIS 5.15" if c.pid_mode == "host" else ""))
        if c.ipc_mode and (c.ipc_mode == "host" or c.ipc_mode.startswith("container:")):
            ipc = display_mode(c.ipc_mode, snap.containers)
            out.append(finding(
                "shared_ipc", "high", subj,
                f"{c.name} shares the IPC namespace of {ipc}: shared memory is readable across the boundary.",
                {"ipc_mode": ipc},
                f"Remove --ipc={ipc} from {c.name} (the default, private, isolates it).", "CIS 5.16" if c.ipc_mode == "host" else ""))
        if c.privileged:
            out.append(finding(
                "privileged", "critical", subj,
                f"{c.name} runs privileged: all capabilities and devices; root in it is root on the host.",
                {"privileged": True},
                f"Run {c.name} without --privileged; add only the capabilities it needs (--cap-add).", "CIS 5.4"))
        for m in c.mounts:
            if m.get("type") != "bind":
                continue
            src = m.get("source", "")
            if any(src.endswith(s) for s in DOCKER_SOCKETS):
                out.append(finding(
                    "docker_socket", "critical", subj,
                    f"{c.name} mounts the Docker socket {src}: it can start privileged containers, i.e. control the host.",
                    {"source": src, "destination": m.get("destination", ""), "read_only": m.get("read_only", False)},
                    f"Remove the mount of {src} from {c.name}; if it needs the API, give it a filtering proxy with only the calls it needs.",
                    "CIS 5.31"))
            elif _is_sensitive(src):
                out.append(finding(
                    "sensitive_mount", "high", subj,
                    f"{c.name} mounts the host directory {src} at {m.get('destination', '')}"
                    f"{' read-only' if m.get('read_only') else ' writable'}.",
                    {"source": src, "destination": m.get("destination", ""), "read_only": m.get("read_only", False)},
                    f"Mount a volume or a dedicated directory instead of {src}.", "CIS 5.5"))
        links = list(c.links) + [l for e in c.endpoints for l in (e.get("links") or [])]
        if links:
            out.append(finding(
                "legacy_link", "low", subj,
                f"{c.name} uses legacy links ({', '.join(links)}): they inject the target's environment variables, secrets included.",
                {"links": links},
                f"Put {c.name} and its targets on a user-defined network and use names (or --network-alias) instead of --link."))
        routed = [nets[e["network"]] for e in c.endpoints if e["network"] in nets and nets[e["network"]].driver in ("bridge", "macvlan", "ipvlan", "overlay")]
        if len(routed) >= 2:
            names = sorted(n.name for n in routed)
            out.append(finding(
                "bridging_container", "medium", subj,
                f"{c.name} is attached to {', '.join(names)}, which Docker otherwise keeps apart: whoever controls it reaches all of them.",
                {"networks": names},
                f"Keep {c.name} on one network, or split it into one container per side with an explicit, audited API between them."))
        internal = [nets[e["network"]].name for e in c.endpoints if e["network"] in nets and nets[e["network"]].internal]
        # HostConfig.PortBindings: what was asked (an empty HostPort asks for any port).
        wanted = list(c.requested_ports) or [p for p in c.ports if p.get("host_port") is not None]
        if internal and wanted:
            out.append(finding(
                "internal_published", "high", subj,
                f"{c.name} is on the internal network {', '.join(internal)} yet asks to publish ports: the internal "
                "network promises no outside access, and any other network of the container would publish them.",
                {"internal_networks": internal, "ports": [f"{p.get('host_ip') or '0.0.0.0'}:{p.get('host_port') or '*'}->{p['container_port']}/{p.get('protocol', 'tcp')}" for p in wanted]},
                f"Remove the -p options of {c.name}, or move the service that must be reached to a non-internal network."))

    # Overlapping subnets, pairwise.
    parsed = []
    for n in sorted(nets.values(), key=lambda n: n.name):
        for s in n.subnets:
            try:
                parsed.append((n, ipaddress.ip_network(s, strict=False)))
            except ValueError:
                continue
    for i, (n1, s1) in enumerate(parsed):
        for n2, s2 in parsed[i + 1:]:
            if n1.id != n2.id and s1.version == s2.version and s1.overlaps(s2):
                out.append(finding(
                    "subnet_overlap", "high", f"network/{n1.name}, network/{n2.name}",
                    f"{n1.name} ({s1}) and {n2.name} ({s2}) overlap: addresses are ambiguous and routes collide"
                    f"{' (' + n2.name + ' is a config-only network: networks created from it collide)' if n2.config_only else ''}"
                    f"{' (' + n1.name + ' is a config-only network: networks created from it collide)' if n1.config_only else ''}.",
                    {"networks": [n1.name, n2.name], "subnets": [str(s1), str(s2)]},
                    "Recreate one of them on a free range (docker network create --subnet <free range> …)."))
    order = {s: i for i, s in enumerate(SEVERITIES)}
    out.sort(key=lambda f: (order.get(f["severity"], 9), f["rule"], f["subject"]))
    return out
