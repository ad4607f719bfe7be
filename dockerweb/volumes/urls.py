from django.urls import path

from . import views

app_name = "volumes"

urlpatterns = [
    path("volumes/", views.volume_list, name="list"),
]
