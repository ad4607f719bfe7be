"""Pages of the volumes app."""
from django.contrib.auth.decorators import login_required

from dockerweb.inventory import selectors as inventory
from dockerweb.inventory.views import host_list_page


@login_required
def volume_list(request):
    return host_list_page(request, template="volumes/list.html",
                          rows=lambda host, f: inventory.volume_list(host=host, filters=f))
