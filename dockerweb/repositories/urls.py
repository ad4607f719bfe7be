from django.urls import path

from . import views

app_name = "repositories"

urlpatterns = [
    path("repositories/", views.repository_list, name="list"),
    path("repositories/snapshot/", views.snapshot_start, name="snapshot-start"),
    path("repositories/<int:pk>/", views.repository_detail, name="detail"),
    path("repositories/<int:pk>/check/", views.repository_check, name="check"),
    path("repositories/<int:pk>/delete/", views.repository_delete, name="delete"),
    path("repositories/<int:pk>/snapshots/<str:snap>/", views.snapshot_files, name="snapshot"),
]
