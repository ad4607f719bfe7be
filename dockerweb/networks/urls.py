from django.urls import path

from . import views

app_name = "networks"

# Fixed paths first: a network named "new" or "prune" is still reachable by its id. Network
# names may hold '/' (the engine takes any name), so the network is a `path`; the suffixed
# posts come before the page itself, and answer GET with the page of a network whose name
# ends in "/disconnect" or "/remove".
urlpatterns = [
    path("networks/", views.network_list, name="list"),
    path("networks/new/", views.network_create, name="create"),
    path("networks/prune/", views.network_prune, name="prune"),
    path("networks/remove/", views.network_remove_many, name="remove-many"),
    path("networks/connect/", views.network_connect, name="connect"),
    path("networks/<path:ident>/disconnect/", views.post_or_page(views.network_disconnect, "disconnect"),
         name="disconnect"),
    path("networks/<path:ident>/remove/", views.post_or_page(views.network_remove, "remove"), name="remove"),
    path("networks/<path:ident>/", views.network_detail, name="detail"),
]
