"""Roles and the one place that decides whether a user may do an action on a host.

A role is membership of the Django group of that name; superusers are admins. Actions are
named `<entity>.<verb>` (`network.create`, `container.bind_mount`); an action nobody listed
needs the admin role, so a forgotten entry fails closed."""
from __future__ import annotations

from enum import IntEnum

from rest_framework.permissions import BasePermission


class Role(IntEnum):
    NONE = 0
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


ROLE_NAMES = ("viewer", "operator", "admin")

# The least role each action needs. Reads need VIEWER; see `may`.
ACTION_ROLES: dict[str, Role] = {
    "network.create": Role.OPERATOR,
    "network.remove": Role.OPERATOR,
    "network.connect": Role.OPERATOR,
    "network.disconnect": Role.OPERATOR,
    "network.prune": Role.OPERATOR,
    "container.run": Role.OPERATOR,
    "container.start": Role.OPERATOR,
    "container.stop": Role.OPERATOR,
    "container.restart": Role.OPERATOR,
    "container.remove": Role.OPERATOR,
    # Commands inside a container (one-off, and console sessions); into a container with a
    # door to the host, the door's own (admin) action is needed too (containers.safety.doors_check).
    "container.exec": Role.OPERATOR,
    "container.console": Role.OPERATOR,
    "volume.create": Role.OPERATOR,
    "volume.remove": Role.OPERATOR,
    "volume.prune": Role.OPERATOR,
    # A volume's files hold secrets: browsing and downloading them is no mere read.
    "volume.browse": Role.OPERATOR,
    "volume.download": Role.OPERATOR,
    "backup.create": Role.OPERATOR,
    "backup.cancel": Role.OPERATOR,
    "backup.delete": Role.OPERATOR,
    "backup.import": Role.OPERATOR,
    "backup.download": Role.OPERATOR,
    "backup.browse": Role.OPERATOR,
    "restore.create": Role.OPERATOR,
    "audit.run": Role.OPERATOR,
    "audit.probe": Role.OPERATOR,
    # Reads of what a container prints and uses, of every container (also one with doors to
    # the host: reading its output opens none of them). Listed so the choice is visible.
    "container.logs": Role.VIEWER,
    "container.stats": Role.VIEWER,
    # Admin-only: they control the machine itself or other people.
    "container.bind_mount": Role.ADMIN,
    "container.privileged": Role.ADMIN,
    "container.host_namespace": Role.ADMIN,
    "container.capabilities": Role.ADMIN,
    "container.devices": Role.ADMIN,
    # A bridge name or a macvlan/ipvlan parent names an interface of the host: the engine adopts an
    # existing bridge of that name (and replaces its addresses), and a parent puts containers on that link.
    "network.host_interface": Role.ADMIN,
    "volume.force_remove": Role.ADMIN,
    "host.create": Role.ADMIN,
    "host.update": Role.ADMIN,
    "host.remove": Role.ADMIN,
    "schedule.create": Role.ADMIN,
    "schedule.update": Role.ADMIN,
    "schedule.delete": Role.ADMIN,
    # Repositories hold every volume's data, and their secrets: only admins add or change them.
    "repository.create": Role.ADMIN,
    "repository.update": Role.ADMIN,
    "repository.delete": Role.ADMIN,
    "repository.check": Role.OPERATOR,
    "user.create": Role.ADMIN,
    "user.update": Role.ADMIN,
    "user.unlock": Role.ADMIN,
    # The bind allow-list (Settings page): which host folders admins may bind into containers.
    "settings.bind_root_add": Role.ADMIN,
    "settings.bind_root_remove": Role.ADMIN,
}
READ = "read"


def user_role(user) -> Role:
    """The highest role the user holds."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Role.NONE
    if user.is_superuser:
        return Role.ADMIN
    cached = getattr(user, "_dockerweb_role", None)
    if cached is not None:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    role = Role.NONE
    for name in ROLE_NAMES:
        if name in names:
            role = max(role, Role[name.upper()])
    user._dockerweb_role = role
    return role


def required_role(action: str) -> Role:
    if action == READ or action.endswith(".read"):
        return Role.VIEWER
    return ACTION_ROLES.get(action, Role.ADMIN)


def may(user, action: str, host=None) -> bool:
    """Whether `user` may do `action` on `host` (a Host or None for host-less actions).

    Roles are global today; `host` is here so that per-host grants can be added in this one place."""
    return user_role(user) >= required_role(action)


class IsViewer(BasePermission):
    """DRF default: every API view needs at least the viewer role; changes are checked again,
    per action, by the service that makes them."""

    message = "You need to sign in with an account that has a role (viewer, operator or admin)."

    def has_permission(self, request, view):
        return user_role(request.user) >= Role.VIEWER


class IsAdmin(BasePermission):
    message = "Only admins may do this."

    def has_permission(self, request, view):
        return user_role(request.user) >= Role.ADMIN
