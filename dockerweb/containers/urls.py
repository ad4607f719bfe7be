from django.urls import path

from . import views

app_name = "containers"

urlpatterns = [
    path("containers/", views.container_list, name="list"),
    path("containers/run/", views.container_run, name="run"),
    path("containers/<str:ident>/", views.container_detail, name="detail"),
    path("containers/<str:ident>/console/", views.container_console, name="console"),
    path("containers/<str:ident>/logs/", views.container_logs, name="logs"),
    path("containers/<str:ident>/<str:action>/", views.container_action, name="action"),
]
