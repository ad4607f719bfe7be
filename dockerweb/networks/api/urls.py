from django.urls import path

from . import views

urlpatterns = [
    path("hosts/<str:host>/networks/", views.NetworkListCreate.as_view(), name="api-networks"),
    path("hosts/<str:host>/networks/<str:ident>/", views.NetworkDetail.as_view(), name="api-network"),
]
