from django.urls import path

from . import views

urlpatterns = [
    path("hosts/<str:host>/topology/", views.TopologyView.as_view(), name="api-topology"),
]
