"""The topology page: a live graph of the hosts the user may read."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse

from dockerweb.core.permissions import may
from dockerweb.inventory import selectors as inventory


@login_required
def graph(request):
    host = inventory.host_current(request)
    if host is None:
        return render(request, "nohost.html")
    hosts = [h for h in inventory.host_list() if may(request.user, "read", h)]
    config = {
        "hosts": [h.name for h in hosts],
        "host": host.name,
        "api": reverse("api-topology", kwargs={"host": "HOST"}),
        "ws": "/ws/topology/",
        "pages": {"network": reverse("networks:list"), "container": reverse("containers:list"),
                  "volume": reverse("volumes:list")},
    }
    return render(request, "topology/graph.html", {"host": host, "hosts_all": hosts, "config": config})
