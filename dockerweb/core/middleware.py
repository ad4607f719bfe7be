"""Request-wide rules: sign-in everywhere but a few paths, times in the user's zone, and
application errors rendered as a page with their status (never a stack trace)."""
from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from .errors import AppError

# The API answers 401/403 itself (DRF); static files and health are public.
PUBLIC_PREFIXES = ("/healthz", "/static/", "/api/", "/favicon.ico")


class LoginRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        login_url = reverse(settings.LOGIN_URL)
        if (
            not request.user.is_authenticated
            and path != login_url
            and not path.startswith(PUBLIC_PREFIXES)
            and not path.startswith("/admin/")  # Django admin has its own login
        ):
            return redirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


class TimezoneMiddleware:
    """Show times in the browser's zone: the page's script stores it in the `tz` cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.COOKIES.get("tz")
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
