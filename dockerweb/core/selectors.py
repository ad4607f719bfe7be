"""Reads of the core app: the activity log, users, and the health of what dockerweb depends on."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet

from .models import Activity
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


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def broker_ok(timeout: float = 2.0) -> bool:
    import redis
    from django.conf import settings

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)
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
