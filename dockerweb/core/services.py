"""Writes of the core app: the activity log, users with their roles, and the bind allow-list.

`change()` is how every service that changes something starts: it checks the actor's role
(the one place, `permissions.may`), and writes the outcome to the activity log whether the
change succeeded, was refused, or failed."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from .errors import AppError, BadRequest, Conflict, NotFound, PermissionDenied
from .models import Activity, BindRoot, Setting
from .permissions import ROLE_NAMES, Role, may, required_role

log = logging.getLogger(__name__)


def activity_record(*, user, action: str, outcome: str, host=None, target: str = "", detail: dict | None = None) -> Activity:
    """Write one activity row. `host` is a Host or a host name or None."""
    host_name = getattr(host, "name", host) or ""
    real_user = user if getattr(user, "is_authenticated", False) else None
    return Activity.objects.create(
        user=real_user,
        username=getattr(real_user, "username", "") or "anonymous",
        action=action,
        host=host_name,
        target=str(target)[:255],
        outcome=outcome,
        detail=detail or {},
    )


@dataclass
class Change:
    """What a service fills in while it works: the target once known, and details for the log."""

    target: str = ""
    detail: dict = field(default_factory=dict)


def permission_check(*, user, action: str, host=None, target: str = "", detail: dict | None = None) -> None:
    """Refuse (403, logged) if `user` may not do `action` on `host`."""
    if not may(user, action, host):
        needed = required_role(action).label
        message = f"You need the {needed} role to do this ({action})."
        activity_record(
            user=user, action=action, outcome=Activity.Outcome.REFUSED, host=host, target=target,
            detail={"message": message, **(detail or {})},
        )
        raise PermissionDenied(message)


@contextmanager
def change(*, user, action: str, host=None, target: str = "", detail: dict | None = None):
    """Check the role, run the block, log its outcome. Yields a `Change` to fill in."""
    permission_check(user=user, action=action, host=host, target=target, detail=detail)
    ch = Change(target=str(target), detail=dict(detail or {}))
    try:
        yield ch
    except PermissionDenied as exc:
        activity_record(user=user, action=action, outcome=Activity.Outcome.REFUSED, host=host,
                        target=ch.target, detail={**ch.detail, "message": exc.message})
        raise
    except AppError as exc:
        activity_record(user=user, action=action, outcome=Activity.Outcome.FAILED, host=host,
                        target=ch.target, detail={**ch.detail, "message": exc.message, "status": exc.status})
        raise
    except Exception as exc:
        log.exception("%s on %s failed", action, ch.target)
        activity_record(user=user, action=action, outcome=Activity.Outcome.FAILED, host=host,
                        target=ch.target, detail={**ch.detail, "message": f"Unexpected error: {exc}"})
        raise
    else:
        activity_record(user=user, action=action, outcome=Activity.Outcome.OK, host=host,
                        target=ch.target, detail=ch.detail)


def _role_groups() -> dict[str, Group]:
    return {name: Group.objects.get_or_create(name=name)[0] for name in ROLE_NAMES}


@transaction.atomic
def user_set_role(*, user, role: str) -> None:
    """Make `role` (viewer|operator|admin|none) the user's only role. A superuser counts as an
    admin whatever its groups, so any other role takes the superuser (and staff) flag away too:
    otherwise revoking the first admin's access would change nothing."""
    if role not in (*ROLE_NAMES, "none"):
        raise BadRequest(f"Unknown role {role!r}; choose viewer, operator or admin.", field="role")
    groups = _role_groups()
    user.groups.remove(*groups.values())
    if role != "none":
        user.groups.add(groups[role])
    if role != "admin" and (user.is_superuser or user.is_staff):
        user.is_superuser = user.is_staff = False
        type(user).objects.filter(pk=user.pk).update(is_superuser=False, is_staff=False)
    if hasattr(user, "_dockerweb_role"):
        del user._dockerweb_role


def user_create(*, actor, username: str, password: str, role: str, email: str = ""):
    """Create an account with a role (admins only)."""
    User = get_user_model()
    with change(user=actor, action="user.create", target=username, detail={"role": role}):
        if not username:
            raise BadRequest("A user name is required.", field="username")
        if User.objects.filter(username=username).exists():
            raise Conflict(f"A user named {username!r} already exists.", field="username")
        if len(password or "") < 8:
            raise BadRequest("The password must have at least 8 characters.", field="password")
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password, email=email)
            user_set_role(user=user, role=role)
        return user


def user_update(*, actor, user, role: str | None = None, is_active: bool | None = None, password: str | None = None):
    """Change a user's role, active flag or password (admins only). Admins cannot lock themselves out."""
    with change(user=actor, action="user.update", target=user.username,
                detail={"role": role, "is_active": is_active, "password_changed": bool(password)}):
        if user.pk == actor.pk and ((role and role != "admin") or is_active is False):
            raise Conflict("You cannot remove your own admin role or deactivate yourself.", field="role")
        if role is not None:
            user_set_role(user=user, role=role)
        if is_active is not None:
            user.is_active = is_active
        if password:
            if len(password) < 8:
                raise BadRequest("The password must have at least 8 characters.", field="password")
            user.set_password(password)
        user.save()
        return user


def login_lockout_lift(*, actor, username: str, ip_address: str) -> int:
    """Lift the sign-in lockout of `username` from `ip_address` (admins only): its counted
    failures are forgotten, so the right password works again at once. Returns how many failure
    records were removed; 404 if that account is not locked out from that address."""
    from axes.utils import reset

    from .selectors import login_lockout_list

    with change(user=actor, action="user.unlock", target=f"{username} from {ip_address}",
                detail={"username": username, "ip_address": ip_address}):
        if not login_lockout_list(username=username, ip_address=ip_address):
            raise NotFound(f"{username!r} is not locked out from {ip_address}.")
        return reset(ip=ip_address, username=username)


def _bind_roots_take_over() -> None:
    """At the first change, the environment's allow-list becomes the table's (once)."""
    from .selectors import BIND_ROOTS_SAVED, bind_roots_from_environment

    env = bind_roots_from_environment()
    _, created = Setting.objects.get_or_create(key=BIND_ROOTS_SAVED, defaults={"value": {"from_environment": env}})
    if created:
        for path in env:
            BindRoot.objects.get_or_create(path=path, defaults={"origin": BindRoot.Origin.ENVIRONMENT})


def bind_root_add(*, actor, path: str) -> BindRoot:
    """Add a folder to the bind allow-list (admins only; it must exist and be safe to bind)."""
    from dockerweb.containers.safety import bind_root_check

    from .selectors import bind_allowlist

    with change(user=actor, action="settings.bind_root_add", target=str(path)[:255], detail={"path": path}) as ch:
        clean = bind_root_check(path)
        ch.target, ch.detail["path"] = clean, clean
        if clean in bind_allowlist():
            raise Conflict(f"{clean!r} is already in the bind allow-list.", field="path")
        try:
            with transaction.atomic():
                _bind_roots_take_over()
                return BindRoot.objects.create(path=clean, origin=BindRoot.Origin.SETTINGS, added_by=actor,
                                               added_by_name=actor.username, created=timezone.now())
        except IntegrityError:
            raise Conflict(f"{clean!r} is already in the bind allow-list.", field="path") from None


def bind_root_remove(*, actor, path: str) -> None:
    """Take a folder off the bind allow-list (admins only). Containers that bind under it keep
    running; new binds under it are refused."""
    import posixpath

    from .selectors import bind_allowlist

    given = (path or "").strip()
    with change(user=actor, action="settings.bind_root_remove", target=given[:255], detail={"path": given}) as ch:
        clean = posixpath.normpath(given) if given.startswith("/") else given
        ch.target, ch.detail["path"] = clean[:255], clean
        if not given or clean not in bind_allowlist():
            raise NotFound(f"{given!r} is not in the bind allow-list.", field="path")
        with transaction.atomic():
            _bind_roots_take_over()
            BindRoot.objects.filter(path=clean).delete()


def ensure_admin(*, username: str, password: str | None) -> tuple[object, str | None]:
    """Make sure the first admin exists. Returns (user, generated_password or None).

    With a password given, an existing account gets it; without, a new one is generated and
    returned once; an existing account keeps its password."""
    import secrets

    User = get_user_model()
    user = User.objects.filter(username=username).first()
    generated = None
    if user is None:
        generated = password or secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, email="", password=generated)
        if password:
            generated = None
    elif password:
        user.set_password(password)
        user.is_superuser = user.is_staff = user.is_active = True
        user.save()
    user_set_role(user=user, role="admin")
    return user, generated


__all__ = [
    "Change", "Role", "activity_record", "bind_root_add", "bind_root_remove", "change", "ensure_admin", "login_lockout_lift", "permission_check",
    "user_create", "user_set_role", "user_update",
]
