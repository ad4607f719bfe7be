from django.urls import path

from . import views

app_name = "backups"

urlpatterns = [
    path("backups/", views.backup_list, name="list"),
    path("backups/start/", views.backup_start, name="start"),
    path("backups/<int:pk>/", views.backup_detail, name="detail"),
    path("backups/<int:pk>/cancel/", views.backup_cancel, name="cancel"),
    path("backups/<int:pk>/delete/", views.backup_delete, name="delete"),
    path("restores/<int:pk>/", views.restore_detail, name="restore"),
    path("schedules/", views.schedule_list, name="schedules"),
    path("schedules/<int:pk>/", views.schedule_edit, name="schedule"),
]
