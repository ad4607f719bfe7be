from django.urls import path

from dockerweb.core.api import converters  # noqa: F401  (registers <id:…>)

from . import views

urlpatterns = [
    path("repositories/", views.RepositoryList.as_view(), name="api-repositories"),
    path("repositories/<id:pk>/", views.RepositoryDetail.as_view(), name="api-repository"),
    path("repositories/<id:pk>/check/", views.RepositoryCheck.as_view(), name="api-repository-check"),
    path("repositories/<id:pk>/snapshots/", views.RepositorySnapshots.as_view(), name="api-repository-snapshots"),
    path("repositories/<id:pk>/snapshots/<str:snap>/files/", views.SnapshotFiles.as_view(),
         name="api-snapshot-files"),
    path("repositories/<id:pk>/snapshots/<str:snap>/archive/", views.SnapshotArchive.as_view(),
         name="api-snapshot-archive"),
    path("repositories/<id:pk>/snapshots/<str:snap>/restore/", views.SnapshotRestore.as_view(),
         name="api-snapshot-restore"),
    path("hosts/<str:host>/volumes/<str:name>/snapshots/", views.VolumeSnapshots.as_view(), name="api-volume-snapshots"),
]
