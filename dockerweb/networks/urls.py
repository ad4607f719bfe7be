from django.urls import path

from . import views

app_name = "networks"

# Fixed paths first: a network named "new" or "prune" is still reachable by its id.
urlpatterns = [
    path("networks/", views.network_list, name="list"),
    path("networks/new/", views.network_create, name="create"),
    path("networks/prune/", views.network_prune, name="prune"),
    path("networks/remove/", views.network_remove_many, name="remove-many"),
    path("networks/connect/", views.network_connect, name="connect"),
    path("networks/<str:ident>/", views.network_detail, name="detail"),
    path("networks/<str:ident>/disconnect/", views.network_disconnect, name="disconnect"),
    path("networks/<str:ident>/remove/", views.network_remove, name="remove"),
]
