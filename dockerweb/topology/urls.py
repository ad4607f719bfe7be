from django.urls import path

from . import views

app_name = "topology"

urlpatterns = [
    path("topology/", views.graph, name="graph"),
]
