"""Pages of the volumes app: list (with sizes on demand), create, a volume's page (and its files),
remove, prune."""
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from dockerweb.core.errors import AppError
from dockerweb.core.pages import host_context, host_list_page, host_page, refusal
from dockerweb.core.permissions import may
from dockerweb.inventory import selectors as inventory

from . import files, selectors, services
from .forms import VolumeCreateForm


def _url(name: str, host, *args) -> str:
    return reverse(name, args=args) + "?" + urlencode({"host": host.name})


@login_required
def volume_list(request):
    """The list; a POST here removes the ticked volumes, answered by the same list (same filters,
    same page) with one outcome per volume."""
    if request.method == "POST":
        return _volume_remove_many(request)
    sizes = request.GET.get("sizes") == "1"

    def rows(host, f):
        qs = inventory.volume_list(host=host, filters=f)
        return selectors.with_sizes(host, qs) if sizes else qs

    return host_list_page(request, template="volumes/list.html", rows=rows, extra={"sizes": sizes})


def _volume_remove_many(request):
    host = inventory.host_current(request)
    if host is None:
        return render(request, "nohost.html")
    back = request.get_full_path()  # the list as it was: same host, filters and page
    names = [n for n in request.POST.getlist("volume") if n]
    if request.POST.get("action", "remove") != "remove":
        messages.error(request, "Volumes can only be removed together.")
        return redirect(back)
    if not names:
        messages.error(request, "Tick the volumes to remove first.")
        return redirect(back)
    result = services.volume_remove_many(actor=request.user, host=host, names=names)
    refused = len(result["errors"])
    total = len(result["removed"]) + refused
    (messages.success if not refused else messages.warning)(
        request, f"Remove: {len(result['removed'])} of {total} done" + (f", {refused} refused." if refused else "."))
    for name in result["removed"]:
        messages.success(request, f"{name}: removed.")
    for name, sentence in result["errors"].items():
        messages.error(request, f"{name}: {sentence}")
    return redirect(back)


@login_required
@host_page
def volume_create(request, ctx):
    host = ctx["host"]
    form = VolumeCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            with refusal(request, form) as refused:
                volume = services.volume_create(actor=request.user, host=host, **form.cleaned_data)
                messages.success(request, f"Volume {volume.name} created.")
                return redirect(_url("volumes:detail", host, volume.name))
            status = refused.status
        else:
            status = 400
    ctx.update({"form": form})
    return render(request, "volumes/create.html", ctx, status=status)


def _files_context(request, host, name: str) -> tuple[dict, int]:
    """The Files tab: the folder `?path=` (and the file `?view=`, shown) of the volume."""
    ctx = {"can_browse": may(request.user, "volume.browse", host)}
    if not ctx["can_browse"]:
        return ctx, 200
    status = 200
    path = request.GET.get("path") or "/"
    try:
        listing = files.volume_files_list(actor=request.user, host=host, name=name, path=path)
        ctx.update({"listing": listing, "rows": files.listing_rows(listing),
                    "crumbs": files.crumbs(listing["path"])})
    except AppError as exc:
        ctx.update({"files_error": exc.message, "crumbs": files.crumbs("/")})
        status = exc.status
    view = request.GET.get("view")
    if view:
        try:
            ctx["file_view"] = files.volume_file_view(actor=request.user, host=host, name=name, path=view)
        except AppError as exc:
            ctx.update({"view_error": exc.message, "view_path": view})
            status = exc.status
    return ctx, status


@login_required
@host_page
def volume_detail(request, ctx, name: str):
    host = ctx["host"]
    volume = inventory.volume_get(host=host, name=name)
    if request.GET.get("tab") == "files":
        files_ctx, status = _files_context(request, host, name)
        ctx.update({"volume": volume, "tab": "files", **files_ctx})
        return render(request, "volumes/files.html", ctx, status=status)
    volume = selectors.with_sizes(host, [volume])[0]
    mounts = list(volume.mounts.select_related("container"))
    ctx.update({"volume": volume, "mounts": mounts, "raw": json.dumps(volume.raw, indent=2, sort_keys=True),
                "can_remove": may(request.user, "volume.remove", host),
                "can_force": may(request.user, "volume.force_remove", host)})
    return render(request, "volumes/detail.html", ctx)


@login_required
@require_POST
def volume_remove(request, name: str):
    host = inventory.host_get(name=request.POST.get("host") or request.GET.get("host") or "")
    with refusal(request) as refused:
        services.volume_remove(actor=request.user, host=host, name=name, force=bool(request.POST.get("force")))
        messages.success(request, f"Volume {name} removed.")
        return redirect(_url("volumes:list", host))
    return redirect(_url("volumes:detail", host, name) if refused.status != 404 else _url("volumes:list", host))


@login_required
def volume_prune(request):
    """GET: what a prune would remove (the preview). POST: remove it."""
    ctx = host_context(request) if request.method == "GET" else None
    if request.method == "POST":
        host = inventory.host_get(name=request.POST.get("host") or "")
        with refusal(request):
            result = services.volume_prune(actor=request.user, host=host)
            kept = f" ({len(result['kept'])} came into use and were kept)" if result["kept"] else ""
            messages.success(request, f"Removed {len(result['removed'])} unused volume(s){kept}.")
            return redirect(_url("volumes:list", host))
        return redirect(_url("volumes:prune", host))
    if ctx is None:
        return render(request, "nohost.html")
    host = ctx["host"]
    preview = services.volume_prune(actor=request.user, host=host, dry_run=True)["removed"]
    known = {v.name: v for v in inventory.volume_list(host=host, filters={"internal": True}).filter(name__in=preview)}
    sizes = selectors.volume_sizes(host)
    ctx.update({"preview": [{"name": n, "volume": known.get(n), "size": sizes.get(n)} for n in preview],
                "can_prune": may(request.user, "volume.prune", host)})
    return render(request, "volumes/prune.html", ctx)
