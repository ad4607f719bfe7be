from django.urls import path

from . import views

app_name = "volumes"

urlpatterns = [
    path("volumes/", views.volume_list, name="list"),
    path("volumes/new/", views.volume_create, name="create"),
    path("volumes/prune/", views.volume_prune, name="prune"),
    path("volumes/<str:name>/", views.volume_detail, name="detail"),
    path("volumes/<str:name>/remove/", views.volume_remove, name="remove"),
]
