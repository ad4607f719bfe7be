"""What the pages (the server-rendered views) of every app share: per-host pages and lists,
pagination, and the answer to a service's refusal (`refusal`)."""
from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from dockerweb.inventory import selectors as inventory

from .errors import AppError


def next_url(request, default: str = "") -> str:
    """The `next` a form or link carries, when it points into this site; else `default` (never
    a redirect to another site)."""
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return default


def paginate(request, queryset, per_page: int = 50):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def host_context(request) -> dict | None:
    """`{host, hosts_all}` for per-host pages, or None when no host is registered yet."""
    host = inventory.host_current(request)
    if host is None:
        return None
    return {"host": host, "hosts_all": list(inventory.host_list())}


def host_page(view):
    """For per-host pages: call `view(request, ctx, …)` with `ctx` = {host, hosts_all}, or show
    the "register a host first" page when there is none yet."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        ctx = host_context(request)
        if ctx is None:
            return render(request, "nohost.html")
        return view(request, ctx, *args, **kwargs)

    return wrapper


def host_list_page(request, *, template: str, rows, per_page: int = 50, extra: dict | None = None):
    """Render a per-host, filterable, paginated list page. `rows(host, filters)` gives the queryset."""
    ctx = host_context(request)
    if ctx is None:
        return render(request, "nohost.html")
    ctx["page"] = paginate(request, rows(ctx["host"], request.GET), per_page)
    ctx.update(extra or {})
    return render(request, template, ctx)


class refusal:
    """A page's service call, refused or not. An AppError raised in the block ends it and is
    answered as people expect on a page: with a `form`, each of its sentences at its field (those
    the form has not, `field(name)` mapping them, above the form); without one, its sentence as
    a message for the next page. The block's own `return` is the answer when nothing was refused;
    after a refusal, `error` and `status` say what it was:

        with refusal(request, form) as refused:
            volume = services.volume_create(…)
            messages.success(request, f"Volume {volume.name} created.")
            return redirect(…)
        return render(…, status=refused.status)
    """

    def __init__(self, request, form=None, *, field=None):
        self.request, self.form, self.field = request, form, field
        self.error: AppError | None = None

    @property
    def status(self) -> int:
        return self.error.status if self.error else 200

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if not isinstance(exc, AppError):
            return False
        self.error = exc
        if self.form is None:
            messages.error(self.request, exc.message)
            return True
        for name, sentences in (exc.errors or {None: [exc.message]}).items():
            name = self.field(name) if self.field else name
            for sentence in sentences:
                self.form.add_error(name if name in self.form.fields else None, sentence)
        return True
