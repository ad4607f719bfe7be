"""One docker SDK client per host. This package is the only place that imports `docker`.

A host is anything with `name`, `url` and optional TLS material (`tls_ca`, `tls_cert`,
`tls_key` as PEM text, `tls_verify`): the inventory's Host model, or a plain object in tests."""
from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import docker
from django.conf import settings

# The oldest API the engines we meet speak (Debian 12 ships 20.10 = 1.41); newer engines accept it.
API_VERSION = "1.41"
_lock = threading.Lock()
_clients: dict[tuple, docker.DockerClient] = {}


def url_problem(url: str) -> str | None:
    """Why `url` cannot address an engine, as a sentence; None when it can. Engines are
    `unix:///absolute/path.sock` or `tcp://host:port` (the docker CLI's `-H` forms)."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "The URL must not contain control characters."
    if url.startswith("ssh://"):
        return "ssh:// engines are not supported; use tcp:// with TLS."
    if url.startswith("unix://"):
        path = url[len("unix://"):]
        if not path.startswith("/") or path.rstrip("/") == "":
            return "A unix:// URL names the socket by its absolute path, e.g. unix:///var/run/docker.sock."
        return None
    if not url.startswith("tcp://"):
        return "The URL must start with unix:// or tcp://."
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        return f"The URL cannot be read: {exc}."
    if not host:
        return "A tcp:// URL names the engine's host, e.g. tcp://10.0.0.5:2376."
    if not re.fullmatch(r"[A-Za-z0-9.-]+|[0-9A-Fa-f:.]+", host):
        return f"{host!r} is not a host name or an IP address."
    if port is None or port == 0:
        return "A tcp:// URL names the engine's port, e.g. tcp://10.0.0.5:2376."
    if parts.username or parts.password or parts.query or parts.fragment or parts.path not in ("", "/"):
        return "A tcp:// URL is only scheme, host and port, e.g. tcp://10.0.0.5:2376."
    return None


def _tls_config(host):
    ca, cert, key = (getattr(host, a, "") or "" for a in ("tls_ca", "tls_cert", "tls_key"))
    if not (ca or cert):
        return None
    digest = hashlib.sha256((ca + cert + key).encode()).hexdigest()[:16]
    folder = Path(settings.DATA_DIR) / "tls" / f"{host.name}-{digest}"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = {}
    for name, pem in (("ca.pem", ca), ("cert.pem", cert), ("key.pem", key)):
        if pem:
            p = folder / name
            if not p.exists():
                fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(pem)
            paths[name] = str(p)
    return docker.tls.TLSConfig(
        client_cert=(paths["cert.pem"], paths["key.pem"]) if "cert.pem" in paths and "key.pem" in paths else None,
        ca_cert=paths.get("ca.pem"),
        verify=bool(getattr(host, "tls_verify", True)) and "ca.pem" in paths,
    )


def engine_url(host) -> str:
    """Where this process reaches the host's engine: its registered URL — or, in an agent beside
    that engine (settings.AGENT_HOST), the local socket the agent was started with."""
    if settings.AGENT_HOST and settings.AGENT_ENGINE and getattr(host, "name", None) == settings.AGENT_HOST:
        return settings.AGENT_ENGINE
    return host.url


def _new_client(host, timeout) -> docker.DockerClient:
    url = engine_url(host)
    tls = _tls_config(host) if url == host.url else None  # an agent's own socket needs no TLS
    client = docker.DockerClient(base_url=url, tls=tls, timeout=timeout, version=API_VERSION, use_ssh_client=False)
    if tls is not None or url.startswith("unix://"):
        # Not from the environment: with TLS, requests would let REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE
        # override the engine's own CA; on a unix socket no proxy applies, and looking for one in
        # the environment costs more than the engine takes to answer an inspect. Plain tcp://
        # keeps HTTP(S)_PROXY / NO_PROXY, as the docker CLI does.
        client.api.trust_env = False
    return client


def _key(host, timeout) -> tuple:
    return (engine_url(host), getattr(host, "tls_ca", ""), getattr(host, "tls_cert", ""), getattr(host, "tls_key", ""),
            getattr(host, "tls_verify", True), timeout)


def docker_client(host, *, timeout: int | None = None) -> docker.DockerClient:
    """The cached client of `host`. Creating one does not contact the engine."""
    timeout = timeout or settings.DOCKER_TIMEOUT
    key = _key(host, timeout)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _new_client(host, timeout)
            _clients[key] = client
        return client


def api(host, *, timeout: int | None = None) -> docker.APIClient:
    """The low-level client of `host` (one method per engine endpoint)."""
    return docker_client(host, timeout=timeout).api


def stream_client(host) -> docker.DockerClient:
    """A fresh, uncached client for a long-lived stream (events, archives): no read timeout,
    and closing it cannot disturb the shared client."""
    return _new_client(host, None)


def forget(host) -> None:
    """Drop cached clients of `host` (after its URL or TLS material changed)."""
    with _lock:
        for key in [k for k in _clients if k[0] == engine_url(host)]:
            _clients.pop(key).close()
