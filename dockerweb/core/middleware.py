"""Request-wide rules: pages only for signed-in accounts that hold a role, times in the user's
zone, application errors rendered as a page with their status (never a stack trace), and the
Permissions-Policy header."""
from __future__ import annotations

import zoneinfo
from urllib.parse import unquote

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from .errors import AppError
from .permissions import Role, user_role

# The API answers 401/403 itself (DRF, `permissions.IsViewer`); static files and health are public.
PUBLIC_PREFIXES = ("/healthz", "/static/", "/api/", "/favicon.ico")
ADMIN_PREFIX = "/admin/"
# Django admin's own sign-in and sign-out stay open to every account, like ours.
ADMIN_OPEN_PATHS = ("/admin/login/", "/admin/logout/")


class LoginRequiredMiddleware:
    """Every page but sign-in, sign-out, health and static files needs a signed-in account that
    holds a role (viewer, operator or admin; `permissions.user_role`).

    - anonymous: redirected to the login page (Django admin sends them to its own);
    - signed in without a role (how an admin revokes access, or an account not yet given one):
      403 and a page saying so, with a sign-out button — on every page, whatever its view does;
    - Django admin (`/admin/`) edits the mirror and accounts behind the services' role checks
      and activity log, so it needs the admin role whatever the account's staff flag says."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith(PUBLIC_PREFIXES):
            return self.get_response(request)
        login_url = reverse(settings.LOGIN_URL)
        if path in (login_url, reverse("core:logout"), *ADMIN_OPEN_PATHS):
            return self.get_response(request)
        user = request.user
        if not user.is_authenticated:
            if path.startswith(ADMIN_PREFIX):
                return self.get_response(request)
            return redirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")
        role = user_role(user)
        if role < Role.VIEWER:
            return render(request, "core/norole.html", {"status": 403}, status=403)
        if path.startswith(ADMIN_PREFIX) and role < Role.ADMIN:
            return render(request, "error.html", {"status": 403, "message": "Django admin is for admins only."},
                          status=403)
        return self.get_response(request)


class TimezoneMiddleware:
    """Show times in the browser's zone: the page's script stores it in the `tz` cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = unquote(request.COOKIES.get("tz") or "")  # app.js stores it URL-encoded (Europe%2FBerlin)
        try:
            timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)


class AppErrorMiddleware:
    """An AppError escaping an HTML view becomes an error page with its status and sentence."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, AppError):
            return render(request, "error.html", {"status": exception.status, "message": exception.message},
                          status=exception.status)
        return None


class PermissionsPolicyMiddleware:
    """Sends `Permissions-Policy` from `settings.PERMISSIONS_POLICY` ({feature: [origins]}; an
    empty list refuses the feature to every origin, this site included)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = ", ".join(
            f"{feature}=({' '.join(origins)})" for feature, origins in getattr(settings, "PERMISSIONS_POLICY", {}).items()
        )

    def __call__(self, request):
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response
