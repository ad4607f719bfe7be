"""Reads of the core app: the activity log, users, sign-in lockouts, the bind allow-list, and the
health of what dockerweb depends on."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from .models import Activity, BindRoot, Setting
from .permissions import user_role


def activity_list(*, filters: dict | None = None) -> QuerySet[Activity]:
    """Activity rows, newest first, narrowed by user, action (prefix), host, outcome, text."""
    qs = Activity.objects.all()
    f = filters or {}
    if f.get("user"):
        qs = qs.filter(username=f["user"])
    if f.get("action"):
        qs = qs.filter(action__startswith=f["action"])
    if f.get("host"):
        qs = qs.filter(host=f["host"])
    if f.get("outcome"):
        qs = qs.filter(outcome=f["outcome"])
    if f.get("q"):
        qs = qs.filter(target__icontains=f["q"])
    return qs


def user_list():
    User = get_user_model()
    users = list(User.objects.order_by("username").prefetch_related("groups"))
    for u in users:
        u.role = user_role(u).label
    return users


@dataclass(frozen=True)
class LoginLockout:
    """One account locked out from one client address until `until` (see settings, AXES_*)."""

    username: str
    ip_address: str
    failures: int
    until: datetime

    @property
    def minutes_left(self) -> int:
        """Whole minutes until the lock ends, rounded up (at least 1 while it holds)."""
        return max(1, math.ceil((self.until - timezone.now()).total_seconds() / 60))


def login_lockout_list(*, username: str | None = None, ip_address: str | None = None) -> list[LoginLockout]:
    """The lockouts in force now, soonest to end last, optionally for one account and address.

    The same arithmetic as axes: failures newer than the cool-off, summed per (user name,
    address), lock at the failure limit; the lock ends one cool-off after the failure that
    brought the sum (counted from the newest) to the limit."""
    from axes.models import AccessAttempt

    limit = settings.AXES_FAILURE_LIMIT
    cooloff = settings.AXES_COOLOFF_TIME
    rows = AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - cooloff)
    if username is not None:
        rows = rows.filter(username=username)
    if ip_address is not None:
        rows = rows.filter(ip_address=ip_address)
    groups: dict[tuple[str, str], list[tuple[datetime, int]]] = defaultdict(list)
    for row in rows.order_by("-attempt_time").values_list("username", "ip_address", "attempt_time", "failures_since_start"):
        groups[(row[0] or "", row[1] or "")].append((row[2], row[3]))
    lockouts = []
    for (name, address), failures in groups.items():
        running = 0
        for at, count in failures:  # newest first
            running += count
            if running >= limit:
                lockouts.append(LoginLockout(username=name, ip_address=address,
                                             failures=sum(c for _, c in failures), until=at + cooloff))
                break
    return sorted(lockouts, key=lambda lock: (lock.until, lock.username, lock.ip_address), reverse=True)


# The row whose presence says the bind allow-list was saved in the database (by an admin's first
# change on the Settings page); until then it is `settings.BIND_ALLOWLIST`, i.e. DOCKERWEB_BIND_ALLOWLIST.
BIND_ROOTS_SAVED = "bind_roots.saved"


def bind_roots_from_environment() -> list[str]:
    """`DOCKERWEB_BIND_ALLOWLIST` (settings.BIND_ALLOWLIST), normalised, without repeats."""
    import posixpath

    out: list[str] = []
    for p in settings.BIND_ALLOWLIST:
        if p:
            clean = posixpath.normpath(p)
            if clean not in out:
                out.append(clean)
    return out


def bind_roots_saved() -> bool:
    """Whether the allow-list lives in the database yet (else it is the environment's)."""
    return Setting.objects.filter(key=BIND_ROOTS_SAVED).exists()


def bind_roots() -> list[BindRoot]:
    """The bind allow-list: the saved rows, or (before any change) the environment's folders as
    unsaved rows. Read anew at each call, so every process sees an admin's change at once.

    The environment is read until the first change rather than copied into the table at
    migration or first read: a read then never writes (workers and the web server read it
    concurrently), and the variable stays the initial value wherever the data dir is new."""
    if bind_roots_saved():
        return list(BindRoot.objects.all())
    return [BindRoot(path=p, origin=BindRoot.Origin.ENVIRONMENT) for p in bind_roots_from_environment()]


def bind_allowlist() -> list[str]:
    """The folders under which admins may bind host paths."""
    return [root.path for root in bind_roots()]


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


_broker_clients: dict = {}  # (url, timeout) → redis client (a connection pool)


def broker_ok(timeout: float = 2.0) -> bool:
    import redis

    # One client per URL for the process: building one reads the redis package's version from its
    # metadata on disk, which cost more than all the rest of /healthz.
    key = (settings.REDIS_URL, timeout)
    try:
        client = _broker_clients.get(key)
        if client is None:
            client = _broker_clients[key] = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)
        return bool(client.ping())
    except Exception:
        return False


def health() -> dict:
    """`{status, engines: {name: ok|unreachable}, broker, database}` — what /healthz returns."""
    from dockerweb.inventory.selectors import host_engine_states

    db = database_ok()
    engines = host_engine_states() if db else {}
    broker = broker_ok()
    ok = db and broker and all(v == "ok" for v in engines.values())
    return {
        "status": "ok" if ok else "degraded",
        "engines": engines,
        "broker": "ok" if broker else "unreachable",
        "database": "ok" if db else "unreachable",
    }
