from django.urls import path

from . import views

urlpatterns = [
    path("hosts/<str:host>/images/", views.ImageList.as_view(), name="api-images"),
    path("hosts/<str:host>/containers/", views.ContainerListCreate.as_view(), name="api-containers"),
    path("hosts/<str:host>/containers/<str:ident>/", views.ContainerDetail.as_view(), name="api-container"),
] + [
    path(f"hosts/<str:host>/containers/<str:ident>/{action}/", views.ContainerAction.as_view(verb=action),
         name=f"api-container-{action}")
    for action in ("start", "stop", "restart")
]
