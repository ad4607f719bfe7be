"""Pages of the inventory app: hosts."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from dockerweb.core.pages import refusal
from dockerweb.core.permissions import may

from . import selectors, services
from .agents import agent_status
from .forms import HostForm


@login_required
def hosts(request):
    form = HostForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        with refusal(request, form) as refused:
            services.host_create(actor=request.user, **form.cleaned_data)
            return redirect("inventory:hosts")
        status = refused.status
    hosts = list(selectors.host_list())
    for h in hosts:
        h.agent = agent_status(h.name)
    return render(request, "inventory/hosts.html", {
        "hosts": hosts, "form": form, "can_create": may(request.user, "host.create"),
    }, status=status)
