"""Constants of the networks app: the bridge driver's options as the walkthrough lists them."""
from __future__ import annotations

PREDEFINED = ("bridge", "host", "none")

# Drivers that have exactly one network per engine, made by the engine itself.
SINGLETON_DRIVERS = {"host": "host", "null": "none"}

DRIVER_HELP = {
    "bridge": "A Linux bridge on this host; containers on it resolve each other by name.",
    "overlay": "Spans the hosts of a swarm (needs a swarm manager).",
    "macvlan": "Gives each container its own MAC address on a parent interface of the host.",
    "ipvlan": "Like macvlan, sharing the parent's MAC address (needs kernel support).",
}

# option key → (form field, label, equivalent dockerd flag, one line of help)
BRIDGE_OPTIONS: dict[str, tuple[str, str, str, str]] = {
    "com.docker.network.bridge.name": (
        "bridge_name", "Bridge name", "",
        "Name of the Linux bridge created for this network (default br-<id>); at most 15 characters, never an "
        "interface the machine already has. Admins only."),
    "com.docker.network.bridge.enable_ip_masquerade": (
        "enable_ip_masquerade", "IP masquerading", "--ip-masq",
        "NAT traffic leaving the network to the host's address (true by default)."),
    "com.docker.network.bridge.enable_icc": (
        "enable_icc", "Inter-container connectivity", "--icc",
        "Whether containers on this network may talk to each other (true by default)."),
    "com.docker.network.bridge.host_binding_ipv4": (
        "host_binding_ipv4", "Default host IP for published ports", "--ip",
        "Host address that <code>-p 8080:80</code> binds to on this network (default 0.0.0.0)."),
    "com.docker.network.driver.mtu": (
        "mtu", "MTU", "--mtu", "Maximum transmission unit of the containers' interfaces (68–65535)."),
    "com.docker.network.container_interface_prefix": (
        "container_interface_prefix", "Container interface prefix", "",
        "Prefix of the interface name inside containers (eth by default: eth0, eth1…)."),
}
# Driver options that name an interface of the engine's machine (admin-only: network.host_interface),
# with what the engine does with it.
HOST_INTERFACE_OPTIONS = {
    "com.docker.network.bridge.name": "the engine takes over an existing interface of that name as the network's "
                                      "bridge and replaces its addresses",
    "parent": "the network's containers appear on that link of the machine",
    "com.docker.network.bridge.trusted_host_interfaces": "traffic arriving on those interfaces may reach the "
                                                         "network's published ports directly",
}
BOOLEAN_OPTIONS = ("com.docker.network.bridge.enable_ip_masquerade", "com.docker.network.bridge.enable_icc")
OPTION_FOR_FIELD = {v[0]: k for k, v in BRIDGE_OPTIONS.items()}
