"""Template context every page needs: the user's role, the navigation, the hosts."""
from .permissions import user_role

NAV = [
    ("Topology", "topology:graph"),
    ("Networks", "networks:list"),
    ("Containers", "containers:list"),
    ("Volumes", "volumes:list"),
    ("Backups", "backups:list"),
    ("Schedules", "backups:schedules"),
    ("Repositories", "repositories:list"),
    ("Audit", "audit:index"),
    ("Activity", "core:activity"),
    ("Hosts", "inventory:hosts"),
]


def dockerweb(request):
    role = user_role(getattr(request, "user", None))
    return {"nav": NAV, "role": role.label, "role_level": int(role)}
