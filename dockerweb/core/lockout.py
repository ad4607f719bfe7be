"""Sign-in lockout: where django-axes meets dockerweb.

axes counts failed sign-ins per (user name, client address) and refuses that pair for
`LOGIN_COOLOFF_MINUTES` once it reaches `LOGIN_FAILURE_LIMIT` (settings.py). This module holds
the backend that asks axes first, and the one refusal every sign-in door answers with: the
login page (`views.login_locked_out`) and `POST /api/auth/token/` (403, code `locked_out`).
Admins see and lift lockouts on the Users page (`selectors.login_lockout_list`,
`services.login_lockout_lift`)."""
from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings

from .errors import PermissionDenied
from .selectors import login_lockout_list


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a sign-in while its account is locked out from the request's address; the next
    backend (Django's ModelBackend) checks the password.

    A lockout belongs to a client address; an `authenticate()` without a request has none, so
    there is nothing to judge and this backend steps aside (axes itself would raise). Every
    sign-in a person or script can reach (login page, /admin/ login, /api/auth/token/) passes its
    request, so none of them is exempt."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class LockedOut(PermissionDenied):
    code = "locked_out"


def request_locked_out(request) -> bool:
    """Whether axes refused this request's sign-in (now, or because this failure hit the limit)."""
    return bool(getattr(request, "axes_locked_out", False))


def locked_out(*, username: str, ip_address: str | None) -> LockedOut:
    """The refusal for `username` signing in from `ip_address`, with the minutes left."""
    locks = login_lockout_list(username=username, ip_address=ip_address) if ip_address else []
    minutes = locks[0].minutes_left if locks else settings.LOGIN_COOLOFF_MINUTES
    return LockedOut(
        "Too many failed sign-ins for this account from your address; "
        f"try again in {minutes} minute{'s' if minutes != 1 else ''} or ask an admin to lift the lock.",
        detail={"retry_after_minutes": minutes},
    )
