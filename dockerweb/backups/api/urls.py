from django.urls import path

from . import views

urlpatterns = [
    path("hosts/<str:host>/volumes/<str:name>/backups/", views.VolumeBackups.as_view(), name="api-volume-backups"),
    path("backups/", views.BackupList.as_view(), name="api-backups"),
    path("backups/import/", views.BackupImport.as_view(), name="api-backup-import"),
    path("backups/<int:pk>/", views.BackupDetail.as_view(), name="api-backup"),
    path("backups/<int:pk>/cancel/", views.BackupCancel.as_view(), name="api-backup-cancel"),
    path("backups/<int:pk>/download/", views.BackupDownload.as_view(), name="api-backup-download"),
    path("backups/<int:pk>/restore/", views.BackupRestore.as_view(), name="api-backup-restore"),
    path("restores/", views.RestoreList.as_view(), name="api-restores"),
    path("restores/<int:pk>/", views.RestoreDetail.as_view(), name="api-restore"),
    path("restores/<int:pk>/cancel/", views.RestoreCancel.as_view(), name="api-restore-cancel"),
    path("schedules/", views.ScheduleList.as_view(), name="api-schedules"),
    path("schedules/preview/", views.CronPreview.as_view(), name="api-schedule-preview"),
    path("schedules/<int:pk>/", views.ScheduleDetail.as_view(), name="api-schedule"),
]
