"""Pages of the networks app: list (with remove several), create, inspect (with connect and
disconnect), prune with a preview, and the connect/disconnect posts of the container page.
Each view checks nothing itself: it calls one service and shows its result or its error."""
from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from dockerweb.core.errors import AppError
from dockerweb.core.pages import host_context, host_list_page, host_page, next_url, refusal
from dockerweb.core.permissions import may
from dockerweb.engine import networks as engine
from dockerweb.inventory import selectors as inventory
from dockerweb.inventory import services as inventory_services

from . import selectors, services
from .choices import BRIDGE_OPTIONS
from .forms import NetworkConnectForm, NetworkCreateForm


def _url(name: str, host, *args, **query) -> str:
    return reverse(f"networks:{name}", args=args) + "?" + urlencode({"host": host.name, **query})


@login_required
def network_list(request):
    ctx = host_context(request)
    extra = {"can_change": ctx is not None and may(request.user, "network.remove", ctx["host"])}
    return host_list_page(request, template="networks/list.html",
                          rows=lambda host, f: inventory.network_list(host=host, filters=f), extra=extra)


@login_required
@host_page
def network_create(request, ctx):
    host = ctx["host"]
    try:
        drivers = engine.network_drivers(host)
    except AppError:
        drivers = ["bridge", "macvlan", "overlay"]
    form = NetworkCreateForm(request.POST or None, drivers=drivers, swarm_manager=host.is_swarm_manager)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            spec = form.spec()
            with refusal(request, form, field=form.field_for_error) as refused:
                network = services.network_create(actor=request.user, host=host, **spec)
                messages.success(request, f"Network {network.name} created ({network.short_id}).")
                return redirect(_url("list", host))
            status = refused.status
        else:
            status = 400
    ctx.update({
        "form": form, "bridge_fields": [v[0] for v in BRIDGE_OPTIONS.values()],
        "can_create": may(request.user, "network.create", host), "swarm_manager": host.is_swarm_manager,
    })
    return render(request, "networks/create.html", ctx, status=status)


def _detail_context(request, host, ident, connect_form=None) -> dict:
    network, raw = inventory_services.network_fetch(host=host, ident=ident)
    form = connect_form or NetworkConnectForm(initial={"network": network.engine_id})
    candidates = selectors.network_connectable_containers(host=host, network=network)
    choices = [(c.name, f"{c.name} ({c.state})") for c in candidates]
    form.fields["container"].widget.choices = choices or [("", "no container can join")]
    return {
        "network": network, "raw": raw, "raw_json": json.dumps([raw], indent=4, sort_keys=False),
        "endpoints": network.endpoints.select_related("container").order_by("container__name"),
        "connect_form": form, "can_change": may(request.user, "network.connect", host),
        "recreate": selectors.network_create_command(
            name=network.name, driver=network.driver, options=network.options, ipam_config=network.ipam_config,
            internal=network.internal, attachable=network.attachable, enable_ipv6=network.enable_ipv6,
            labels=network.labels, ipam_driver=network.ipam_driver, ipam_options=network.ipam_options),
    }


@login_required
@host_page
def network_detail(request, ctx, ident: str):
    """`docker network inspect NAME`, with its containers; POST connects one."""
    host = ctx["host"]
    status = 200
    form = None
    if request.method == "POST":
        form = NetworkConnectForm(request.POST)
        if form.is_valid():
            # The network is this page's own: a refusal naming it is the form's as a whole.
            with refusal(request, form, field=lambda f: None if f == "network" else f) as refused:
                c = services.network_connect(actor=request.user, host=host, network=ident, **form.spec())
                messages.success(request, f"Connected {c.name}.")
                return redirect(_url("detail", host, ident))
            status = refused.status
        else:
            status = 400
    ctx.update(_detail_context(request, host, ident, form))
    return render(request, "networks/detail.html", ctx, status=status)


def _network_name(host, ident: str) -> str:
    """The name of the network a form named by id (the container page's choices carry ids)."""
    try:
        return inventory.network_get(host=host, ident=ident).name
    except AppError:
        return ident


def post_or_page(post_view, suffix: str):
    """The suffixed posts (`…/remove/`, `…/disconnect/`) for POST; for GET, the page of the
    network named `<ident>/<suffix>` (names may hold '/')."""
    def view(request, ident: str):
        if request.method == "POST":
            return post_view(request, ident=ident)
        return network_detail(request, ident=f"{ident}/{suffix}")

    view.__name__ = view.__qualname__ = post_view.__name__
    view.__doc__ = post_view.__doc__
    return view


@login_required
@require_POST
@host_page
def network_connect(request, ctx):
    """Connect from the container page (its panel posts network, container and options here)."""
    host = ctx["host"]
    form = NetworkConnectForm(request.POST)
    back = next_url(request, _url("list", host))
    if not form.is_valid() or not form.cleaned_data.get("network"):
        messages.error(request, "Choose a network and a container to connect.")
        return redirect(back)
    with refusal(request):
        c = services.network_connect(actor=request.user, host=host, network=form.cleaned_data["network"], **form.spec())
        messages.success(request, f"Connected {c.name} to {_network_name(host, form.cleaned_data['network'])}.")
    return redirect(back)


@login_required
@require_POST
@host_page
def network_disconnect(request, ctx, ident: str):
    host = ctx["host"]
    back = next_url(request, _url("detail", host, ident))
    with refusal(request):
        c = services.network_disconnect(actor=request.user, host=host, network=ident,
                                        container=request.POST.get("container", ""), force=bool(request.POST.get("force")))
        messages.success(request, f"Disconnected {c.name if c else request.POST.get('container')} from "
                                  f"{_network_name(host, ident)}.")
    return redirect(back)


@login_required
@require_POST
@host_page
def network_remove(request, ctx, ident: str):
    host = ctx["host"]
    with refusal(request):
        services.network_remove(actor=request.user, host=host, ident=ident)
        messages.success(request, f"Network {ident} removed.")
        return redirect(_url("list", host))
    return redirect(next_url(request, _url("list", host)))


@login_required
@require_POST
@host_page
def network_remove_many(request, ctx):
    host = ctx["host"]
    idents = request.POST.getlist("network")
    if not idents:
        messages.error(request, "Tick the networks to remove first.")
        return redirect(_url("list", host))
    result = services.network_remove_many(actor=request.user, host=host, idents=idents)
    if result["removed"]:
        messages.success(request, "Removed " + ", ".join(result["removed"]) + ".")
    for ident, message in result["errors"].items():
        messages.error(request, message)
    return redirect(_url("list", host))


@login_required
@host_page
def network_prune(request, ctx):
    """GET: what `docker network prune` would remove now; POST: remove exactly those shown."""
    host = ctx["host"]
    if request.method == "POST":
        with refusal(request):
            removed = services.network_prune(actor=request.user, host=host, only=request.POST.getlist("network"))
            messages.success(request, ("Removed " + ", ".join(removed) + ".") if removed else "Nothing was removed.")
        return redirect(_url("list", host))
    candidates = selectors.network_prune_candidates(host=host)
    ctx.update({"candidates": candidates, "can_change": may(request.user, "network.prune", host)})
    return render(request, "networks/prune.html", ctx)
