from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="core/login.html", redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("activity/", views.activity, name="activity"),
    path("users/", views.users, name="users"),
    path("users/<int:pk>/", views.user_edit, name="user-edit"),
    path("users/unlock/", views.user_unlock, name="user-unlock"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/bind-roots/remove/", views.bind_root_remove, name="bind-root-remove"),
]
