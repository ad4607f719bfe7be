from django.urls import path

from . import views

urlpatterns = [
    path("hosts/", views.HostListCreate.as_view(), name="api-hosts"),
    path("hosts/<str:host>/", views.HostDetail.as_view(), name="api-host"),
]
