"""Pages of the containers app: the list, the run form, a container's page and its actions."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from dockerweb.core.pages import host_list_page, host_page, next_url, refusal
from dockerweb.core.permissions import may
from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.services import container_fetch

from . import selectors, services
from .forms import ContainerRunForm

STATES = ["created", "running", "paused", "restarting", "exited", "dead"]


def _url(name: str, host, *args) -> str:
    return reverse(name, args=args) + "?" + urlencode({"host": host.name})


@login_required
def container_list(request):
    """The list; a POST here is a bulk action on the ticked containers, answered by the same list
    (same filters, same page) with one outcome per container."""
    if request.method == "POST":
        return _container_bulk(request)
    return host_list_page(request, template="containers/list.html",
                          rows=lambda host, f: selectors.with_netns_names(inventory.container_list(host=host, filters=f))
                          .prefetch_related("mounts__volume"), extra={"states": STATES})


@login_required
@host_page
def container_run(request, ctx):
    host = ctx["host"]
    form = ContainerRunForm(request.POST or None, host=host, show_admin=may(request.user, "container.privileged", host))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            with refusal(request, form) as refused:
                container = services.container_run(actor=request.user, host=host, data=form.run_data())
                if isinstance(container, dict):
                    messages.success(request, f"Container {container['name'] or container['id'][:12]} ran and was "
                                              "removed again (--rm).")
                    return redirect(_url("containers:list", host))
                messages.success(request, f"Container {container.name} is {container.state}.")
                return redirect(_url("containers:detail", host, container.name))
            status = refused.status
        else:
            status = 400
    ctx.update({"form": form, "can_run": may(request.user, "container.run", host)})
    return render(request, "containers/run.html", ctx, status=status)


@login_required
@host_page
def container_detail(request, ctx, ident: str):
    container = inventory.container_get(host=ctx["host"], ident=ident)
    netns_source = None
    if container.netns_source_id:
        netns_source = (inventory.container_list(host=ctx["host"], filters={"internal": True})
                        .filter(engine_id=container.netns_source_id).first())
    config = (container.raw or {}).get("Config") or {}
    ctx.update({"container": container, "netns_source": netns_source, "env": config.get("Env") or [],
                "can_change": may(request.user, "container.start", ctx["host"])})
    return render(request, "containers/detail.html", ctx)


@login_required
@host_page
def container_console(request, ctx, ident: str):
    """A terminal in the container (`docker exec -it`), over the `/ws/exec/` socket."""
    container = inventory.container_get(host=ctx["host"], ident=ident)
    ctx.update({"container": container, "can_console": may(request.user, "container.console", ctx["host"]),
                "console": {"host": ctx["host"].name, "container": container.name, "socket": "/ws/exec/",
                            "running": container.state == "running"}})
    return render(request, "containers/console.html", ctx)



@login_required
@host_page
def container_logs(request, ctx, ident: str):
    """The container's log: tail, since, streams, search, download, and live follow (`/ws/logs/`)."""
    # The engine decides what exists: a container started a moment ago may not be mirrored yet.
    container = container_fetch(host=ctx["host"], ident=ident)[0]
    ctx.update({"container": container,
                "logs": {"host": ctx["host"].name, "container": container.name, "socket": "/ws/logs/",
                         "api": reverse("api-container-logs", args=[ctx["host"].name, container.name]),
                         "download": reverse("api-container-logs-download", args=[ctx["host"].name, container.name]),
                         "running": container.state == "running"}})
    return render(request, "containers/logs.html", ctx)


BULK_DONE = {"start": "started", "stop": "stopped", "remove": "removed"}


def _container_bulk(request):
    host = inventory.host_current(request)
    if host is None:
        return render(request, "nohost.html")
    back = request.get_full_path()  # the list as it was: same host, filters and page
    action = request.POST.get("action", "")
    idents = [i for i in request.POST.getlist("container") if i]
    if action not in BULK_DONE:
        messages.error(request, "Choose start, stop or remove for the ticked containers.")
        return redirect(back)
    if not idents:
        messages.error(request, f"Tick the containers to {action} first.")
        return redirect(back)
    result = services.container_bulk(actor=request.user, host=host, action=action, idents=idents,
                                     force=bool(request.POST.get("force")), volumes=bool(request.POST.get("volumes")))
    refused = len(result["errors"])
    summary = f"{action.capitalize()}: {len(result['done'])} of {len(result['done']) + refused} done"
    (messages.success if not refused else messages.warning)(
        request, summary + (f", {refused} refused." if refused else "."))
    for name in result["done"]:
        messages.success(request, f"{name}: {BULK_DONE[action]}.")
    for ident, sentence in result["errors"].items():
        messages.error(request, f"{ident}: {sentence}")
    return redirect(back)


ACTIONS = {
    "start": lambda actor, host, ident, post: services.container_start(actor=actor, host=host, ident=ident),
    "stop": lambda actor, host, ident, post: services.container_stop(actor=actor, host=host, ident=ident),
    "restart": lambda actor, host, ident, post: services.container_restart(actor=actor, host=host, ident=ident),
    "remove": lambda actor, host, ident, post: services.container_remove(
        actor=actor, host=host, ident=ident, force=bool(post.get("force")), volumes=bool(post.get("volumes"))),
}


@login_required
@require_POST
def container_action(request, ident: str, action: str):
    host = inventory.host_get(name=request.POST.get("host") or request.GET.get("host") or "")
    if action not in ACTIONS:
        messages.error(request, f"Unknown action {action!r}.")
        return redirect(_url("containers:list", host))
    nxt = next_url(request)
    # Once the container is gone only the list can be shown: the list as it was (its filters
    # kept) when the action came from there.
    listed = nxt if nxt.startswith(reverse("containers:list") + "?") else _url("containers:list", host)
    with refusal(request):
        result = ACTIONS[action](request.user, host, ident, request.POST)
        if action == "remove" or result is None:
            messages.success(request, f"Container {ident} {'removed' if action == 'remove' else 'stopped and gone (--rm)'}.")
            return redirect(listed)
        messages.success(request, f"Container {result.name}: {action} done, now {result.state}.")
        return redirect(nxt or _url("containers:detail", host, result.name))
    return redirect(nxt or _url("containers:list", host))
