from django.urls import path

from . import views

# The fixed paths come first: a network named "prune" is still reachable by its id.
urlpatterns = [
    path("hosts/<str:host>/networks/", views.NetworkListCreate.as_view(), name="api-networks"),
    path("hosts/<str:host>/networks/prune/", views.NetworkPrune.as_view(), name="api-networks-prune"),
    path("hosts/<str:host>/networks/remove/", views.NetworkRemoveMany.as_view(), name="api-networks-remove"),
    path("hosts/<str:host>/networks/<str:ident>/", views.NetworkDetail.as_view(), name="api-network"),
    path("hosts/<str:host>/networks/<str:ident>/connect/", views.NetworkConnect.as_view(), name="api-network-connect"),
    path("hosts/<str:host>/networks/<str:ident>/disconnect/", views.NetworkDisconnect.as_view(),
         name="api-network-disconnect"),
]
