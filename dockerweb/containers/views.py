"""Pages of the containers app."""
from django.contrib.auth.decorators import login_required

from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.views import host_list_page

STATES = ["created", "running", "paused", "restarting", "exited", "dead"]


@login_required
def container_list(request):
    return host_list_page(request, template="containers/list.html",
                          rows=lambda host, f: inventory.container_list(host=host, filters=f), extra={"states": STATES})
