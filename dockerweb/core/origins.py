"""Which pages may open dockerweb's websockets: the site's own origin and the trusted ones.

A browser sends the session cookie with a websocket handshake from any page of the same site,
and a site ignores the port: a page served on another port of the same host (or a sibling
subdomain) would read the live topology with the victim's session. So an `Origin` is compared
as scheme + host + port, exactly:

- against the site's own origin, taken from the handshake's `Host` header (which must be in
  `ALLOWED_HOSTS`, as Django demands of HTTP requests), `ws`→`http` and `wss`→`https`; behind a
  TLS proxy the scheme comes from `SECURE_PROXY_SSL_HEADER` when settings enable it;
- against `CSRF_TRUSTED_ORIGINS` (`DOCKERWEB_CSRF_TRUSTED_ORIGINS`), read as Django's CSRF check
  reads it (`https://*.example.com` trusts the subdomains, on that scheme and port).

A handshake without `Origin` (or with `Origin: null`) is refused: browsers always send one, so
only a script with a stolen cookie would leave it out."""
from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain, split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_key(url: str) -> tuple[str, str, int] | None:
    """`(scheme, host, port)` of an http(s) origin, the port filled in; None if it is not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else DEFAULT_PORTS[scheme]


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            try:
                return value.decode("latin1")
            except UnicodeDecodeError:
                return None
    return None


def _secure(scope) -> bool:
    """Whether the browser reached us over TLS, by the same rule as `HttpRequest.is_secure`."""
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        meta_name, secure_value = proxy
        header = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin1")
        value = _header(scope, header)
        if value is not None:
            return value.split(",")[0].strip() == secure_value
    return scope.get("scheme", "ws") in ("wss", "https")


def site_origin(scope) -> tuple[str, str, int] | None:
    """The origin of the site this handshake was addressed to; None if its Host is not allowed."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return origin_key(f"{'https' if _secure(scope) else 'http'}://{host}")


def _trusted(origin: tuple[str, str, int]) -> bool:
    scheme, host, port = origin
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        if "*" in entry:
            # Django's reading: "https://*.example.com" trusts example.com's subdomains.
            pattern = origin_key(entry.replace("*", "wildcard", 1))
            if pattern and pattern[0] == scheme and pattern[2] == port:
                suffix = pattern[1].removeprefix("wildcard")
                if suffix.startswith(".") and is_same_domain(host, suffix):
                    return True
        elif origin_key(entry) == origin:
            return True
    return False


def origin_allowed(scope) -> bool:
    """Whether the websocket handshake in `scope` comes from a page dockerweb trusts."""
    raw = _header(scope, b"origin")
    origin = origin_key(raw) if raw else None
    if origin is None:
        return False
    return origin == site_origin(scope) or _trusted(origin)


class SameOriginValidator:
    """ASGI middleware for websockets: hands the connection on only if `origin_allowed`;
    otherwise the handshake is refused (HTTP 403) before any consumer runs."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator guards websocket connections only.")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
