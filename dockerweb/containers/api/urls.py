from django.urls import path

from . import views

urlpatterns = [
    path("hosts/<str:host>/images/", views.ImageList.as_view(), name="api-images"),
    path("hosts/<str:host>/containers/", views.ContainerListCreate.as_view(), name="api-containers"),
    # Before the container itself: a container named "remove" is still read and removed here.
    path("hosts/<str:host>/containers/remove/", views.ContainerRemoveMany.as_view(), name="api-containers-remove"),
    path("hosts/<str:host>/containers/<str:ident>/", views.ContainerDetail.as_view(), name="api-container"),
    path("hosts/<str:host>/containers/<str:ident>/logs/", views.ContainerLogs.as_view(), name="api-container-logs"),
    path("hosts/<str:host>/containers/<str:ident>/logs/download/", views.ContainerLogsDownload.as_view(),
         name="api-container-logs-download"),
    path("hosts/<str:host>/containers/<str:ident>/stats/", views.ContainerStats.as_view(), name="api-container-stats"),
    path("hosts/<str:host>/containers/<str:ident>/exec/", views.ContainerExec.as_view(), name="api-container-exec"),
] + [
    path(f"hosts/<str:host>/containers/<str:ident>/{action}/", views.ContainerAction.as_view(verb=action),
         name=f"api-container-{action}")
    for action in ("start", "stop", "restart")
]
