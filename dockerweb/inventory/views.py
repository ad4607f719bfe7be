"""Pages of the inventory app: hosts."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from dockerweb.core.errors import AppError
from dockerweb.core.permissions import may

from . import selectors, services
from .agents import agent_status
from .forms import HostForm


@login_required
def hosts(request):
    form = HostForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.host_create(actor=request.user, **form.cleaned_data)
            return redirect("inventory:hosts")
        except AppError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            status = exc.status
    hosts = list(selectors.host_list())
    for h in hosts:
        h.agent = agent_status(h.name)
    return render(request, "inventory/hosts.html", {
        "hosts": hosts, "form": form, "can_create": may(request.user, "host.create"),
    }, status=status)


def host_context(request) -> dict | None:
    """`{host, hosts_all}` for per-host pages, or None when no host is registered yet."""
    host = selectors.host_current(request)
    if host is None:
        return None
    return {"host": host, "hosts_all": list(selectors.host_list())}


def host_page(view):
    """For per-host pages: call `view(request, ctx, …)` with `ctx` = {host, hosts_all}, or show
    the "register a host first" page when there is none yet."""
    from functools import wraps

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        ctx = host_context(request)
        if ctx is None:
            return render(request, "nohost.html")
        return view(request, ctx, *args, **kwargs)

    return wrapper


def host_list_page(request, *, template: str, rows, per_page: int = 50, extra: dict | None = None):
    """Render a per-host, filterable, paginated list page. `rows(host, filters)` gives the queryset."""
    from dockerweb.core.views import paginate

    ctx = host_context(request)
    if ctx is None:
        return render(request, "nohost.html")
    ctx["page"] = paginate(request, rows(ctx["host"], request.GET), per_page)
    ctx.update(extra or {})
    return render(request, template, ctx)
