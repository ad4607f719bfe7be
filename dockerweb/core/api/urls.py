from django.urls import path

from . import views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("activity/", views.ActivityList.as_view(), name="api-activity"),
    path("settings/bind-roots/", views.BindRootList.as_view(), name="api-bind-roots"),
]
