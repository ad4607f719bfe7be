"""Pages of the core app: sign-in (and its lockout), home, activity log, users, settings; health; error pages."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import selectors, services
from .errors import AppError
from .forms import ActivityFilterForm, BindRootForm, UserCreateForm, UserUpdateForm
from .lockout import locked_out
from .pages import paginate, refusal
from .permissions import Role, user_role


@login_required
def home(request):
    return redirect("topology:graph")


@login_required
def activity(request):
    form = ActivityFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = paginate(request, selectors.activity_list(filters=filters))
    return render(request, "core/activity.html", {"form": form, "page": page})


@login_required
def users(request):
    if user_role(request.user) < Role.ADMIN:
        return render(request, "error.html", {"status": 403, "message": "Only admins may manage users."}, status=403)
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with refusal(request, form):
            services.user_create(actor=request.user, **form.cleaned_data)
            return redirect("core:users")
    return render(request, "core/users.html",
                  {"users": selectors.user_list(), "form": form, "lockouts": selectors.login_lockout_list(),
                   "lockout_policy": {"limit": settings.LOGIN_FAILURE_LIMIT, "minutes": settings.LOGIN_COOLOFF_MINUTES}})


@login_required
@require_POST
def user_unlock(request):
    """Lift one sign-in lockout (admins only; the service checks and logs; a refusal is the
    error page, core.middleware)."""
    username = request.POST.get("username", "")
    ip_address = request.POST.get("ip_address", "")
    services.login_lockout_lift(actor=request.user, username=username, ip_address=ip_address)
    messages.success(request, f"Lifted the sign-in lock of {username} from {ip_address}.")
    return redirect("core:users")


def login_locked_out(request, response=None, credentials=None):
    """The answer to a sign-in refused by the lockout (settings.AXES_LOCKOUT_CALLABLE): the login
    page again, 403, saying so and for how long; JSON for the API."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    error = locked_out(username=username, ip_address=getattr(request, "axes_ip_address", None))
    if request.path.startswith("/api/"):
        return JsonResponse(error.as_dict(), status=error.status)
    form = AuthenticationForm(request, initial={"username": username})
    return render(request, "core/login.html",
                  {"form": form, "locked": error.message, "next": request.POST.get("next", "")},
                  status=error.status)


@login_required
def user_edit(request, pk: int):
    if user_role(request.user) < Role.ADMIN:
        return render(request, "error.html", {"status": 403, "message": "Only admins may manage users."}, status=403)
    user = get_object_or_404(get_user_model(), pk=pk)
    initial = {"role": user_role(user).label if user_role(user) else "none", "is_active": user.is_active}
    form = UserUpdateForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        with refusal(request, form) as refused:
            services.user_update(actor=request.user, user=user, **form.cleaned_data)
            return redirect("core:users")
        status = refused.status
    return render(request, "core/user_edit.html", {"subject": user, "form": form}, status=status)


SETTINGS_ADMINS_ONLY = "Only admins may see and change dockerweb's settings."


def _settings_render(request, form, status: int = 200, remove_error: str = ""):
    return render(request, "core/settings.html", {
        "form": form, "roots": selectors.bind_roots(), "saved": selectors.bind_roots_saved(),
        "environment": settings.BIND_ALLOWLIST_ENVIRONMENT, "remove_error": remove_error,
    }, status=status)


@login_required
def settings_page(request):
    """The bind allow-list, seen and edited by admins. A non-admin's change is refused by the
    service (so the refusal is logged); their visit is refused here."""
    if request.method != "POST" and user_role(request.user) < Role.ADMIN:
        return render(request, "error.html", {"status": 403, "message": SETTINGS_ADMINS_ONLY}, status=403)
    form = BindRootForm(request.POST or None)
    if request.method != "POST":
        return _settings_render(request, form)
    if not form.is_valid():
        if user_role(request.user) < Role.ADMIN:
            return render(request, "error.html", {"status": 403, "message": SETTINGS_ADMINS_ONLY}, status=403)
        return _settings_render(request, form, status=400)
    with refusal(request, form) as refused:
        root = services.bind_root_add(actor=request.user, path=form.cleaned_data["path"])
        messages.success(request, f"Added {root.path} to the bind allow-list.")
        return redirect("core:settings")
    if refused.status == 403:
        raise refused.error  # the error page (core.middleware), not the form
    return _settings_render(request, form, status=refused.status)


@login_required
@require_POST
def bind_root_remove(request):
    path = request.POST.get("path", "")
    try:
        services.bind_root_remove(actor=request.user, path=path)
    except AppError as exc:
        if exc.status == 403:
            raise  # the error page (core.middleware)
        return _settings_render(request, BindRootForm(), status=exc.status, remove_error=exc.message)
    messages.success(request, f"Removed {path} from the bind allow-list.")
    return redirect("core:settings")


@require_GET
def healthz(request):
    body = selectors.health()
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)


def _error(request, status: int, message: str):
    if request.path.startswith("/api/"):
        codes = {400: "bad_request", 403: "permission_denied", 404: "not_found", 500: "server_error"}
        return JsonResponse({"detail": message, "code": codes.get(status, "error")}, status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, "The request could not be understood.")


def permission_denied(request, exception=None):
    return _error(request, 403, "You are not allowed to do this.")


def page_not_found(request, exception=None):
    return _error(request, 404, "There is nothing at this address.")


def server_error(request):
    return _error(request, 500, "Something went wrong on our side; it has been logged. Please try again.")
