"""Pages of the networks app."""
from django.contrib.auth.decorators import login_required

from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.views import host_list_page


@login_required
def network_list(request):
    return host_list_page(request, template="networks/list.html",
                          rows=lambda host, f: inventory.network_list(host=host, filters=f))
