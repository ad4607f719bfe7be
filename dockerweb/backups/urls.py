from django.urls import path

from . import views

app_name = "backups"

urlpatterns = [
    path("backups/", views.backup_list, name="list"),
    path("schedules/", views.schedule_list, name="schedules"),
]
