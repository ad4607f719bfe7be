from django.urls import path

from . import views

# The fixed paths come first: a network named "prune" is still reachable by its id. Network
# names may hold '/' (the engine takes any name), so the network is a `path`: the suffixed
# actions come before the network itself, and answer GET with the network named
# "<ident>/connect" or "<ident>/disconnect".
urlpatterns = [
    path("hosts/<str:host>/networks/", views.NetworkListCreate.as_view(), name="api-networks"),
    path("hosts/<str:host>/networks/prune/", views.NetworkPrune.as_view(), name="api-networks-prune"),
    path("hosts/<str:host>/networks/remove/", views.NetworkRemoveMany.as_view(), name="api-networks-remove"),
    path("hosts/<str:host>/networks/<path:ident>/connect/", views.NetworkConnect.as_view(), name="api-network-connect"),
    path("hosts/<str:host>/networks/<path:ident>/disconnect/", views.NetworkDisconnect.as_view(),
         name="api-network-disconnect"),
    path("hosts/<str:host>/networks/<path:ident>/", views.NetworkDetail.as_view(), name="api-network"),
]
