from django.urls import path

from . import views

app_name = "containers"

urlpatterns = [
    path("containers/", views.container_list, name="list"),
]
