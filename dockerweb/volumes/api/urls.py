from django.urls import path

from . import views

urlpatterns = [
    path("hosts/<str:host>/volumes/", views.VolumeListCreate.as_view(), name="api-volumes"),
    path("hosts/<str:host>/volumes/prune/", views.VolumePrune.as_view(), name="api-volumes-prune"),
    # Before the volume itself: a volume named "remove" is still read and removed here.
    path("hosts/<str:host>/volumes/remove/", views.VolumeRemoveMany.as_view(), name="api-volumes-remove"),
    path("hosts/<str:host>/volumes/<str:name>/", views.VolumeDetail.as_view(), name="api-volume"),
    path("hosts/<str:host>/volumes/<str:name>/files/", views.VolumeFiles.as_view(), name="api-volume-files"),
    path("hosts/<str:host>/volumes/<str:name>/files/content/", views.VolumeFileContent.as_view(),
         name="api-volume-file-content"),
    path("hosts/<str:host>/volumes/<str:name>/files/archive/", views.VolumeFilesArchive.as_view(),
         name="api-volume-files-archive"),
]
